/**
 * From settings and instance limits to a `WarmPoolPolicy` (ipamd's `initENIAndIPLimits` and the warm-target parsing),
 * plus the max-pods formula. Where ipamd silently changes meaning (prefix delegation on a non-Nitro instance), this
 * returns a note instead.
 */
import { type InstanceLimits, prefixDelegationSupported } from '../../lib/instance-limits.ts';
import type { WarmPoolPolicy } from './types.ts';

/** The settings the policy reads, keyed by their Amazon VPC CNI names (a `Config` satisfies this). */
export interface WarmPoolSettings {
  readonly WARM_ENI_TARGET: number;
  readonly WARM_IP_TARGET: number;
  readonly MINIMUM_IP_TARGET: number;
  readonly WARM_PREFIX_TARGET: number;
  readonly ENABLE_PREFIX_DELEGATION: boolean;
  readonly MAX_ENI: number;
  readonly AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: boolean;
}

/** ipamd's timings: an ENI lives at least 1 minute, a decrease happens at most every 30 s. */
export const REFERENCE_TIMINGS = { minEniLifetimeMs: 60_000, decreaseIntervalMs: 30_000 } as const;

export function effectiveMaxEnis(limits: InstanceLimits, maxEni: number): number {
  return maxEni >= 1 ? Math.min(limits.eniLimit, maxEni) : limits.eniLimit;
}

/**
 * The max-pods ceiling the reference's calculator computes with `--show-max-allowed`: ENIs × slots (× 16 with
 * prefixes) + 2 host-network pods; custom networking leaves the primary ENI out.
 */
export function maxPodsFor(
  limits: InstanceLimits,
  settings: Pick<WarmPoolSettings, 'MAX_ENI' | 'ENABLE_PREFIX_DELEGATION' | 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG'>,
): number {
  const enis = effectiveMaxEnis(limits, settings.MAX_ENI) - (settings.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG ? 1 : 0);
  const prefix = settings.ENABLE_PREFIX_DELEGATION && prefixDelegationSupported(limits);
  return enis * (limits.ipv4Limit - 1) * (prefix ? 16 : 1) + 2;
}

export interface PolicyOptions {
  readonly maxPods: number;
  readonly mode: WarmPoolPolicy['mode'];
  readonly minEniLifetimeMs: number;
  readonly decreaseIntervalMs: number;
}

export function warmPoolPolicy(
  settings: WarmPoolSettings,
  limits: InstanceLimits,
  options: PolicyOptions,
): { readonly policy: WarmPoolPolicy; readonly notes: readonly string[] } {
  const notes: string[] = [];
  let prefixDelegation = settings.ENABLE_PREFIX_DELEGATION;
  if (prefixDelegation && !prefixDelegationSupported(limits)) {
    prefixDelegation = false;
    notes.push(
      `ENABLE_PREFIX_DELEGATION=true ignored: the instance is ${limits.hypervisorType}, not Nitro or bare metal; ` +
        'using single secondary addresses',
    );
  }
  const policy: WarmPoolPolicy = {
    warmEniTarget: Math.max(settings.WARM_ENI_TARGET, 0),
    warmIpTarget: Math.max(settings.WARM_IP_TARGET, 0),
    minimumIpTarget: Math.max(settings.MINIMUM_IP_TARGET, 0),
    warmPrefixTarget: Math.max(settings.WARM_PREFIX_TARGET, 0),
    prefixDelegation,
    maxEnis: effectiveMaxEnis(limits, settings.MAX_ENI),
    slotsPerEni: limits.ipv4Limit - 1,
    maxPods: options.maxPods,
    skipPrimaryEni: settings.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG,
    minEniLifetimeMs: options.minEniLifetimeMs,
    decreaseIntervalMs: options.decreaseIntervalMs,
    mode: options.mode,
  };
  return { policy, notes };
}
