/**
 * The node's pod capacity as the IPAM sees it (the addresses it can ever serve under the running configuration and
 * the instance's limits), published on the node so schedulers and operators can read it, and held against the
 * kubelet's maxPods: a kubelet that admits more pods than there are addresses leaves pods in ContainerCreating; one
 * that admits fewer than the node's max-pods leaves addresses idle. Pure.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeMaxPods } from '../../ipam/policy/max-pods.ts';

/** The address capacity in pods (ENIs × slots, × 16 with prefixes, + 2 host-network pods), as a decimal. */
export const POD_CAPACITY_ANNOTATION = 'vpc-cni.io/pod-capacity';
/** What the kubelet's maxPods should be (the capacity, capped by the EKS calculator where it applies). */
export const MAX_PODS_ANNOTATION = 'vpc-cni.io/max-pods';

export interface CapacityFinding {
  readonly capacity: number;
  readonly maxPods: number;
  /** node.status.capacity.pods; undefined when the kubelet has not reported it. */
  readonly kubeletMaxPods: number | undefined;
  /** Set when the kubelet's maxPods disagrees: what is wrong and what to do. */
  readonly mismatch?: string;
}

export function kubeletMaxPods(node: V1Node | undefined): number | undefined {
  const text = node?.status?.capacity?.pods ?? node?.status?.allocatable?.pods;
  return text !== undefined && /^\d{1,6}$/.test(text) ? Number(text) : undefined;
}

export function capacityFinding(computed: NodeMaxPods, node: V1Node | undefined): CapacityFinding {
  const kubelet = kubeletMaxPods(node);
  const base = { capacity: computed.capacity, maxPods: computed.maxPods, kubeletMaxPods: kubelet };
  // Between max-pods and the capacity is the operator's choice (the EKS calculator's cap is advice, not a limit).
  if (kubelet === undefined || (kubelet >= computed.maxPods && kubelet <= computed.capacity)) return base;
  const mismatch =
    kubelet > computed.capacity
      ? `kubelet maxPods ${kubelet} exceeds the ${computed.capacity} pods this node's addresses can serve: pods beyond ${computed.capacity} stay in ContainerCreating; set the kubelet's --max-pods to ${computed.maxPods} (vpc-cni max-pods)`
      : `kubelet maxPods ${kubelet} is below this node's max-pods ${computed.maxPods} (address capacity ${computed.capacity}): ${computed.maxPods - kubelet} pods' worth of addresses stay idle; set the kubelet's --max-pods to ${computed.maxPods} (vpc-cni max-pods)`;
  return { ...base, mismatch };
}

/** The merge patch that publishes the finding on the node; undefined when the node already says so. */
export function capacityPatch(finding: CapacityFinding, node: V1Node | undefined): object | undefined {
  const want = { [POD_CAPACITY_ANNOTATION]: String(finding.capacity), [MAX_PODS_ANNOTATION]: String(finding.maxPods) };
  const have = node?.metadata?.annotations ?? {};
  if (Object.entries(want).every(([key, value]) => have[key] === value)) return undefined;
  return { metadata: { annotations: want } };
}
