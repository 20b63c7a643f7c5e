/**
 * The kubelet max-pods a node gets, as `vpc-cni max-pods` prints it and `vpc-cni simulate` uses it: the address
 * capacity (`maxPodsFor`), capped by the Amazon EKS calculator at 110 (≤ 30 vCPUs) or 250 when prefix delegation or
 * custom networking puts the calculator's rules in force.
 */
import type { InstanceLimits } from '../../lib/instance-limits.ts';
import { maxPodsFor, type WarmPoolSettings } from './limits.ts';

/** The Amazon EKS calculator's cap on a computed max-pods: 110 up to 30 vCPUs, 250 above. */
export function maxPodsCap(vcpus: number): number {
  return vcpus > 30 ? 250 : 110;
}

/**
 * vCPUs implied by an instance size name (`large` = 2, `xlarge` = 4, `Nxlarge` = 4·N); undefined where the name does
 * not tell (metal).
 */
export function vcpusFromSize(instanceType: string): number | undefined {
  const size = instanceType.split('.')[1] ?? '';
  if (['nano', 'micro', 'small', 'medium', 'large'].includes(size)) return 2;
  if (size === 'xlarge') return 4;
  const multiple = /^(\d+)xlarge$/.exec(size);
  return multiple ? 4 * Number(multiple[1]) : undefined;
}

export interface NodeMaxPods {
  /** What the kubelet is told. */
  readonly maxPods: number;
  /** Pods the node's addresses could hold (ENIs × slots, × 16 with prefixes, + 2). */
  readonly capacity: number;
  /** The calculator's cap when it applied, else undefined. */
  readonly cap: number | undefined;
}

/** `vcpus` undefined: inferred from the size name; a type whose name does not tell is left uncapped. */
export function nodeMaxPods(
  instanceType: string,
  limits: InstanceLimits,
  settings: Pick<WarmPoolSettings, 'MAX_ENI' | 'ENABLE_PREFIX_DELEGATION' | 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG'>,
  vcpus: number | undefined = vcpusFromSize(instanceType),
): NodeMaxPods {
  const capacity = maxPodsFor(limits, settings);
  const calculator = settings.ENABLE_PREFIX_DELEGATION || settings.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG;
  const cap = calculator && vcpus !== undefined ? maxPodsCap(vcpus) : undefined;
  return { maxPods: cap === undefined ? capacity : Math.min(capacity, cap), capacity, cap };
}
