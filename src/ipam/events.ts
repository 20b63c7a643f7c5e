/**
 * What the engine did and why, for the agent's logger, metrics and pod Events. A DaemonSet runs for months, so the
 * sink keeps only the last `capacity` events (a ring buffer) plus counts per kind since start; a subscriber sees every
 * event as it happens and is where logs go.
 */

export type EngineEventKind =
  | 'action'
  | 'action-failed'
  | 'reconcile'
  | 'checkpoint-refused'
  | 'prefix-fallback'
  | 'note';

export interface EngineEvent {
  readonly atMs: number;
  readonly kind: EngineEventKind;
  readonly message: string;
}

export type EventListener = (event: EngineEvent) => void;

export const DEFAULT_EVENT_CAPACITY = 512;

export class EventSink {
  readonly capacity: number;
  readonly #ring: EngineEvent[] = [];
  #next = 0;
  #total = 0;
  readonly #counts = new Map<EngineEventKind, number>();
  readonly #listeners = new Set<EventListener>();
  #listenerFailures = 0;

  constructor(capacity = DEFAULT_EVENT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event capacity ${capacity} is not ≥ 1`);
    this.capacity = capacity;
  }

  emit(event: EngineEvent): void {
    if (this.#ring.length < this.capacity) this.#ring.push(event);
    else this.#ring[this.#next] = event;
    this.#next = (this.#next + 1) % this.capacity;
    this.#total++;
    this.#counts.set(event.kind, (this.#counts.get(event.kind) ?? 0) + 1);
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A broken logger must not stop the pool; the failure shows in the metrics instead.
        this.#listenerFailures++;
      }
    }
  }

  /** The retained events, oldest first. */
  recent(): EngineEvent[] {
    return this.#ring.length < this.capacity
      ? [...this.#ring]
      : [...this.#ring.slice(this.#next), ...this.#ring.slice(0, this.#next)];
  }

  /** Calls `listener` for every later event; returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  count(kind: EngineEventKind): number {
    return this.#counts.get(kind) ?? 0;
  }

  get total(): number {
    return this.#total;
  }

  /** Events no longer retained (still counted). */
  get dropped(): number {
    return this.#total - this.#ring.length;
  }

  get listenerFailures(): number {
    return this.#listenerFailures;
  }
}
