/**
 * One watched resource that never gives up: client-node's ListWatch lists, then watches from the list's
 * resourceVersion, resumes after a closed stream and relists after a 410; on any other failure (the API server down,
 * a refused request) it stops and reports, and this restarts it after a backoff with jitter. A failure is logged and
 * counted; it never reaches the agent's core.
 */
import type { KubernetesListObject, KubernetesObject, ListWatch } from '@kubernetes/client-node';
import { KUBERNETES_ACCESS } from './access.ts';
import type { KubeClient } from './client.ts';

export interface WatchedOptions<T extends KubernetesObject> {
  readonly name: string;
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly fieldSelector?: string;
  /** Called after every add, update or delete with the whole cache. */
  readonly onChange: (objects: readonly T[]) => void;
  readonly onError: (message: string, retryInMs: number) => void;
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

export interface Watched<T> {
  objects(): readonly T[];
  /** Failures since start. */
  readonly failures: number;
  stop(): Promise<void>;
}

const BACKOFF = { baseMs: 500, maxMs: 30_000 };

export function watchResource<T extends KubernetesObject>(client: KubeClient, o: WatchedOptions<T>): Watched<T> {
  const backoff = o.backoff ?? BACKOFF;
  const cache: ListWatch<T> = client.listWatch(o.path, o.list, o.fieldSelector);
  let stopped = false;
  let failures = 0;
  let streak = 0;
  let timer: NodeJS.Timeout | undefined;
  const changed = () => {
    // An event arrived: the watch works again.
    streak = 0;
    o.onChange(cache.list());
  };
  cache.on('add', changed);
  cache.on('update', changed);
  cache.on('delete', changed);
  const restart = () => {
    if (stopped) return;
    cache.start().catch(failed);
  };
  const failed = (error: unknown) => {
    if (stopped) return;
    failures++;
    streak++;
    const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(streak - 1, 16));
    // Full jitter in the upper half: many nodes that lost the API server together do not return together.
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    o.onError(`${o.name}: ${describe(error, o.path)}`, delay);
    clearTimeout(timer);
    timer = setTimeout(restart, delay);
  };
  cache.on('error', failed);
  restart();
  return {
    objects: () => cache.list(),
    get failures() {
      return failures;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await cache.stop();
    },
  };
}

function describe(error: unknown, path: string): string {
  if (error instanceof Error) {
    const code =
      (error as { code?: unknown; statusCode?: unknown }).code ?? (error as { statusCode?: unknown }).statusCode;
    const text = `${error.message.slice(0, 300)}${code === undefined ? '' : ` (${String(code)})`}`;
    return Number(code) === 403 ? `${text}; ${forbiddenHint(path)}` : text;
  }
  return String(error).slice(0, 300);
}

/**
 * A 403 is a ClusterRole or Role that does not grant what the agent does: say exactly which grant, as
 * manifests/rbac.yaml has it, rather than leave the operator to read the API server's audit log.
 */
export function forbiddenHint(path: string): string {
  const resource = path.split('/').at(-1) ?? '';
  const grant = KUBERNETES_ACCESS.find((a) => a.resource === resource);
  if (grant === undefined) return 'the agent was refused a request it is not meant to make';
  const scope = grant.namespace === undefined ? 'a ClusterRole' : `a Role in ${grant.namespace}`;
  const names = grant.resourceNames === undefined ? '' : ` (resourceNames ${grant.resourceNames.join(', ')})`;
  return `the agent's ServiceAccount needs ${grant.verbs.join(', ')} on ${grant.group === '' ? '' : `${grant.group}/`}${resource}${names} through ${scope}, as manifests/rbac.yaml grants`;
}
