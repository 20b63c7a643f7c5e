/**
 * What the pods bound to this node ask of the pool: a pending pod the scheduler placed here whose ADD has not come
 * yet is an address needed soon, so the pool may grow for it early; a cordoned node takes no new pods and does not
 * grow. Pure: the watch feeds it the cached objects.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { NodeDemand } from '../view.ts';

/** `namespace/name`, the key the IPAM store knows a pod by (its lease metadata). */
export function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * Pods on this node that will need an address from this agent and have none yet: not host-network (those use the
 * node's), not finished or being deleted, without a pod IP reported, and without a lease the kubelet has not reported
 * yet (an ADD served but not yet in the pod's status).
 */
export function pendingPods(pods: readonly V1Pod[], leased: ReadonlySet<string>): number {
  return pods.filter((pod) => {
    const { metadata, spec, status } = pod;
    if (spec?.hostNetwork === true || metadata?.deletionTimestamp !== undefined) return false;
    if (status?.phase !== undefined && status.phase !== 'Pending') return false;
    if ((status?.podIP ?? '') !== '') return false;
    return !leased.has(podKey(metadata?.namespace ?? '', metadata?.name ?? ''));
  }).length;
}

export function nodeDemand(node: V1Node | undefined, pods: readonly V1Pod[], leased: ReadonlySet<string>): NodeDemand {
  return { cordoned: node?.spec?.unschedulable === true, pendingPods: pendingPods(pods, leased) };
}
