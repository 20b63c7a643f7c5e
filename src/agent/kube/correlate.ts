/**
 * Which Kubernetes Event to write for an occurrence, as client-go's EventCorrelator decides it, so that a storm of
 * failing ADDs (the kubelet retries a pod every few seconds) is one Event whose count climbs rather than a flood:
 * 1. similar events (same object, type and reason, different messages) beyond 10 in 10 minutes are combined into one
 *    "(combined from similar events)" Event;
 * 2. an identical event is the same Event again: its count and lastTimestamp are patched;
 * 3. a spam filter (a token bucket, 25 burst, one token per 5 minutes) drops the rest. It is kept per object and
 *    reason, not per object as client-go's default key is: a node's drift repairs must not silence its ConfigRefused.
 * Pure: the recorder passes the time in and does the writing.
 */

export interface EventObject {
  readonly kind: 'Pod' | 'Node';
  readonly name: string;
  /** Undefined for a node (cluster-scoped). */
  readonly namespace?: string;
  readonly uid?: string;
}

export interface EventSpec {
  readonly object: EventObject;
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export type EventWrite =
  | {
      readonly verb: 'create';
      readonly name: string;
      readonly namespace: string;
      readonly spec: EventSpec;
      readonly atMs: number;
    }
  | {
      readonly verb: 'patch';
      readonly name: string;
      readonly namespace: string;
      readonly spec: EventSpec;
      readonly count: number;
      readonly atMs: number;
    };

export interface CorrelatorLimits {
  readonly burst: number;
  readonly refillMs: number;
  readonly similarMax: number;
  readonly similarWindowMs: number;
  /** Keys remembered (oldest forgotten first), so a long-running agent's memory stays bounded. */
  readonly maxKeys: number;
}

/** client-go's defaults (tools/record/events_cache.go). */
export const CLIENT_GO_LIMITS: CorrelatorLimits = {
  burst: 25,
  refillMs: 300_000,
  similarMax: 10,
  similarWindowMs: 600_000,
  maxKeys: 4096,
};

export const COMBINED_PREFIX = '(combined from similar events): ';

interface Seen {
  readonly name: string;
  readonly namespace: string;
  count: number;
}

interface Similar {
  readonly messages: Set<string>;
  startedMs: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** A Map used as a bounded LRU: a touched key moves to the end, the first key goes when the map is full. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): V {
  map.delete(key);
  map.set(key, value);
  if (map.size > max) map.delete(map.keys().next().value!);
  return value;
}

function objectKey(o: EventObject): string {
  return [o.kind, o.namespace ?? '', o.name, o.uid ?? ''].join('/');
}

export class EventCorrelator {
  readonly #limits: CorrelatorLimits;
  readonly #seen = new Map<string, Seen>();
  readonly #similar = new Map<string, Similar>();
  readonly #buckets = new Map<string, Bucket>();
  #sequence = 0;

  constructor(limits: CorrelatorLimits = CLIENT_GO_LIMITS) {
    this.#limits = limits;
  }

  /** The write for this occurrence, or undefined when the spam filter drops it. */
  observe(spec: EventSpec, nowMs: number): EventWrite | undefined {
    const { aggregated, key } = this.#aggregate(spec, nowMs);
    const seen = this.#seen.get(key);
    // As client-go's logger: an occurrence the spam filter drops still counts, so the next patch shows them all.
    if (seen !== undefined) {
      seen.count += 1;
      remember(this.#seen, key, seen, this.#limits.maxKeys);
    }
    if (!this.#allow([objectKey(spec.object), spec.type, spec.reason].join('\0'), nowMs)) return undefined;
    if (seen !== undefined) {
      return {
        verb: 'patch',
        name: seen.name,
        namespace: seen.namespace,
        spec: aggregated,
        count: seen.count,
        atMs: nowMs,
      };
    }
    // client-go names an Event after its object and the time in hex nanoseconds; the sequence keeps two in one
    // millisecond apart.
    const name = `${spec.object.name}.${(BigInt(nowMs) * 1_000_000n + BigInt(this.#sequence++ % 1_000_000)).toString(16)}`;
    const namespace = spec.object.namespace ?? 'default';
    remember(this.#seen, key, { name, namespace, count: 1 }, this.#limits.maxKeys);
    return { verb: 'create', name, namespace, spec: aggregated, atMs: nowMs };
  }

  /** The Event named `name` is gone (expired by the API server's TTL): the next occurrence creates a new one. */
  forget(name: string): void {
    for (const [key, seen] of this.#seen) if (seen.name === name) this.#seen.delete(key);
  }

  /** The Event to write and its identity: a combined Event is one per object, type and reason, whatever the message. */
  #aggregate(spec: EventSpec, nowMs: number): { aggregated: EventSpec; key: string } {
    const key = [objectKey(spec.object), spec.type, spec.reason].join('\0');
    let similar = this.#similar.get(key);
    if (similar === undefined || nowMs - similar.startedMs > this.#limits.similarWindowMs)
      similar = { messages: new Set(), startedMs: nowMs };
    remember(this.#similar, key, similar, this.#limits.maxKeys);
    // Past the limit only the count matters: the set stops growing.
    if (similar.messages.size <= this.#limits.similarMax) similar.messages.add(spec.message);
    if (similar.messages.size <= this.#limits.similarMax) return { aggregated: spec, key: `${key}\0${spec.message}` };
    return { aggregated: { ...spec, message: `${COMBINED_PREFIX}${spec.message}` }, key };
  }

  #allow(key: string, nowMs: number): boolean {
    const { burst, refillMs, maxKeys } = this.#limits;
    const bucket = this.#buckets.get(key) ?? { tokens: burst, atMs: nowMs };
    bucket.tokens = Math.min(burst, bucket.tokens + (nowMs - bucket.atMs) / refillMs);
    bucket.atMs = nowMs;
    remember(this.#buckets, key, bucket, maxKeys);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
