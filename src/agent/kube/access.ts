/**
 * Every Kubernetes API call the agent makes, as RBAC would name it. The ClusterRole and Role in `manifests/` grant
 * exactly this (a test compares them), and the end-to-end tests check that the simulator saw no request outside it, so
 * the manifests cannot drift from the code in either direction.
 */
export interface ApiAccess {
  /** '' for the core group. */
  readonly group: string;
  readonly resource: string;
  readonly verbs: readonly string[];
  /** Set when the grant is one namespace's (a Role), not the cluster's. */
  readonly namespace?: string;
  /**
   * Set when the grant is for these objects only. RBAC then authorizes a list or watch only with a
   * `metadata.name=` field selector naming one of them, which is how the agent lists and watches them.
   */
  readonly resourceNames?: readonly string[];
}

export const KUBERNETES_ACCESS: readonly ApiAccess[] = [
  // The node's ENIConfig label/annotation (a get at start for custom networking, src/ipam/cloud/eniconfig.ts), cordon,
  // and the pod-capacity annotations the agent publishes (src/agent/kube/node-watch.ts).
  { group: '', resource: 'nodes', verbs: ['get', 'list', 'watch', 'patch'] },
  // Pods bound to this node (pending = demand; a list+watch cache, never a get) and ANNOTATE_POD_IP.
  { group: '', resource: 'pods', verbs: ['list', 'watch', 'patch'] },
  // Warning Events on pods, repair Events on the node.
  { group: '', resource: 'events', verbs: ['create', 'patch'] },
  // get: the node's ENIConfig at start; list/watch: a change is said as an Event.
  { group: 'crd.k8s.amazonaws.com', resource: 'eniconfigs', verbs: ['get', 'list', 'watch'] },
  // The live amazon-vpc-cni ConfigMap, and nothing else of kube-system's (a list+watch by metadata.name, never a get).
  {
    group: '',
    resource: 'configmaps',
    verbs: ['list', 'watch'],
    namespace: 'kube-system',
    resourceNames: ['amazon-vpc-cni'],
  },
];
