import { randomUUID } from 'node:crypto';
import { KubeError, notFound } from './errors.ts';
import { applyPatch } from './patch.ts';
import { apiVersionOf, RESOURCES, type ResourceType } from './resources.ts';
import type { KubeObject } from './selectors.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject;
  readonly resourceVersion: number;
}

/** Events kept per resource so a watch can resume from a recent resourceVersion; older ones get 410 Gone. */
const HISTORY_LIMIT = 1000;

/**
 * The API server's storage: objects per resource with one cluster-wide resourceVersion counter (as etcd's revision),
 * an event history for resumable watches, and listeners for open watches.
 */
export class ObjectStore {
  #revision = 1;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #history = new Map<string, WatchEvent[]>();
  readonly #listeners = new Map<string, Set<(event: WatchEvent) => void>>();

  constructor() {
    for (const type of RESOURCES) {
      this.#objects.set(type.plural, new Map());
      this.#history.set(type.plural, []);
      this.#listeners.set(type.plural, new Set());
    }
  }

  get revision(): number {
    return this.#revision;
  }

  create(type: ResourceType, object: KubeObject): KubeObject {
    const name =
      object.metadata?.name ??
      (object.metadata?.generateName ? `${object.metadata.generateName}${randomUUID().slice(0, 5)}` : undefined);
    if (!name) throw new KubeError(422, 'Invalid', `${type.kind}: metadata.name: Required value`);
    const namespace = type.namespaced ? (object.metadata.namespace ?? 'default') : undefined;
    const key = keyOf(namespace, name);
    if (this.#table(type).has(key))
      throw new KubeError(409, 'AlreadyExists', `${type.plural} "${name}" already exists`);
    const stored = this.#stamp(type, {
      ...object,
      metadata: {
        ...object.metadata,
        name,
        namespace,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    });
    this.#table(type).set(key, stored);
    this.#emit(type, 'ADDED', stored);
    return stored;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    return this.#table(type).get(keyOf(namespace, name)) ?? throwIt(notFound(type.plural, name));
  }

  list(type: ResourceType, namespace: string | undefined): KubeObject[] {
    const all = [...this.#table(type).values()];
    return namespace === undefined ? all : all.filter((object) => object.metadata.namespace === namespace);
  }

  /** PUT: a stale `metadata.resourceVersion` is a 409 Conflict, so read-modify-write clients retry correctly. */
  replace(type: ResourceType, namespace: string | undefined, name: string, object: KubeObject): KubeObject {
    const current = this.get(type, namespace, name);
    const given = object.metadata?.resourceVersion;
    if (given !== undefined && given !== current.metadata.resourceVersion) {
      throw new KubeError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${type.plural} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      );
    }
    return this.#update(type, current, {
      ...object,
      metadata: {
        ...object.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        name,
        namespace,
      },
    });
  }

  patch(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    patch: unknown,
  ): KubeObject {
    const current = this.get(type, namespace, name);
    const patched = applyPatch(structuredClone(current) as never, contentType, patch) as unknown as KubeObject;
    return this.#update(type, current, {
      ...patched,
      metadata: { ...patched.metadata, name, namespace, uid: current.metadata.uid },
    });
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const current = this.get(type, namespace, name);
    this.#table(type).delete(keyOf(namespace, name));
    const gone = this.#stamp(type, current);
    this.#emit(type, 'DELETED', gone);
    return gone;
  }

  /** Events after `resourceVersion`, or a 410 when the history no longer reaches back that far. */
  eventsSince(type: ResourceType, resourceVersion: number): WatchEvent[] {
    const history = this.#history.get(type.plural)!;
    const oldest = history[0]?.resourceVersion ?? this.#revision;
    if (history.length >= HISTORY_LIMIT && resourceVersion < oldest - 1) {
      throw new KubeError(410, 'Expired', `too old resource version: ${resourceVersion} (${oldest - 1})`);
    }
    return history.filter((event) => event.resourceVersion > resourceVersion);
  }

  subscribe(type: ResourceType, listener: (event: WatchEvent) => void): () => void {
    const listeners = this.#listeners.get(type.plural)!;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  #update(type: ResourceType, current: KubeObject, next: KubeObject): KubeObject {
    // A write that changes nothing keeps its resourceVersion and emits no event, as on the apiserver.
    const unchanged = {
      ...next,
      apiVersion: current.apiVersion,
      kind: current.kind,
      metadata: { ...next.metadata, resourceVersion: current.metadata.resourceVersion },
    };
    if (JSON.stringify(unchanged) === JSON.stringify(current)) return current;
    const stored = this.#stamp(type, next);
    this.#table(type).set(keyOf(current.metadata.namespace, current.metadata.name), stored);
    this.#emit(type, 'MODIFIED', stored);
    return stored;
  }

  #stamp(type: ResourceType, object: KubeObject): KubeObject {
    this.#revision += 1;
    return {
      ...object,
      apiVersion: apiVersionOf(type),
      kind: type.kind,
      metadata: { ...object.metadata, resourceVersion: String(this.#revision) },
    };
  }

  #emit(type: ResourceType, kind: WatchEventType, object: KubeObject): void {
    const event = { type: kind, object, resourceVersion: this.#revision };
    const history = this.#history.get(type.plural)!;
    history.push(event);
    if (history.length > HISTORY_LIMIT) history.shift();
    for (const listener of this.#listeners.get(type.plural)!) listener(event);
  }

  #table(type: ResourceType): Map<string, KubeObject> {
    return this.#objects.get(type.plural)!;
  }
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

function throwIt(error: Error): never {
  throw error;
}
