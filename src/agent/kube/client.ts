/**
 * The agent's Kubernetes client: client-node's typed APIs and its list+watch cache, configured from KUBECONFIG or,
 * in the DaemonSet, the pod's service account. Imported only through `connectKubernetes` in extension.ts (a dynamic
 * import): client-node costs about half a second to load, which `--help`, the plugin and a node without Kubernetes
 * never pay.
 */
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';

export interface KubeClient {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  /** A list+watch cache of `path` (resuming from its resourceVersion); not started. */
  listWatch<T extends KubernetesObject>(
    path: string,
    list: () => Promise<KubernetesListObject<T>>,
    fieldSelector?: string,
  ): ListWatch<T>;
  /** Options for a PATCH sent as a JSON merge patch (RFC 7386), the simplest that sets or clears map keys. */
  readonly mergePatch: ReturnType<typeof setHeaderOptions>;
}

/** `kubeconfigPath` undefined: the in-cluster service account (KUBERNETES_SERVICE_HOST and its token). */
export function createKubeClient(kubeconfigPath: string | undefined): KubeClient {
  const config = new KubeConfig();
  if (kubeconfigPath === undefined) config.loadFromCluster();
  else config.loadFromFile(kubeconfigPath);
  const watch = neverRejecting(new Watch(config));
  return {
    core: config.makeApiClient(CoreV1Api),
    custom: config.makeApiClient(CustomObjectsApi),
    listWatch: (path, list, fieldSelector) => new ListWatch(path, watch, list, false, undefined, fieldSelector),
    mergePatch: setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  };
}

/**
 * ListWatch calls `watch()` from its own completion callback without catching: a watch that cannot even be sent
 * (credentials that cannot be read, say) would be an unhandled rejection, which ends a Node process. Reported as the
 * watch's end instead, it reaches the ListWatch's error callback and the backoff in informer.ts.
 */
function neverRejecting(watch: Watch): Watch {
  const safe = Object.create(watch) as Watch;
  safe.watch = async (path, queryParams, callback, done) => {
    try {
      return await watch.watch(path, queryParams, callback, done);
    } catch (error) {
      done(error);
      return new AbortController();
    }
  };
  return safe;
}
