/**
 * Which ENI grows and which ENI may be freed (ipamd's `GetAllocatableENIs`, `shouldRemoveExtraENIs`,
 * `getDeletableENI`). Unlike ipamd, which walks a Go map, the order is fixed: grow the lowest device first, free the
 * highest first, so the same snapshot always gives the same answer.
 */
import { isFreeable, PREFIX_SIZE, poolStats, warmIpTargetsDefined } from './targets.ts';
import type { EniState, PoolStats, WarmPoolPolicy } from './types.ts';

export function byDevice(enis: readonly EniState[]): EniState[] {
  return [...enis].sort((a, b) => a.deviceNumber - b.deviceNumber);
}

/** ENIs that can take more CIDRs, lowest device first. */
export function growableEnis(enis: readonly EniState[], policy: WarmPoolPolicy): EniState[] {
  return byDevice(enis).filter((e) => !(e.primary && policy.skipPrimaryEni) && e.cidrs.length < policy.slotsPerEni);
}

function roundUpToPrefix(n: number): number {
  return Math.ceil(n / PREFIX_SIZE) * PREFIX_SIZE;
}

/** ipamd's `shouldRemoveExtraENIs`: a cheap gate before looking for a deletable ENI. */
export function shouldRemoveExtraEnis(stats: PoolStats, enis: readonly EniState[], policy: WarmPoolPolicy): boolean {
  if (warmIpTargetsDefined(policy)) return true;
  const perEni = policy.prefixDelegation ? policy.slotsPerEni * PREFIX_SIZE : policy.slotsPerEni;
  const target = policy.prefixDelegation ? policy.warmPrefixTarget : policy.warmEniTarget;
  if (stats.available >= (target + 1) * perEni) return true;
  return policy.prefixDelegation && enis.some((e) => !e.primary && e.cidrs.every((c) => c.assigned === 0));
}

/** Why one ENI may not be freed, or undefined when it may. */
export function whyKeepEni(eni: EniState, enis: readonly EniState[], policy: WarmPoolPolicy): string | undefined {
  if (eni.primary) return 'primary ENI';
  if (eni.ageMs < policy.minEniLifetimeMs) return `younger than ${policy.minEniLifetimeMs} ms`;
  if (eni.cidrs.some((c) => c.assigned > 0 || c.quarantined > 0)) return 'has assigned addresses';
  if (eni.cidrs.some((c) => c.cooling > 0)) return 'has addresses in cooldown';
  const others = poolStats(enis.filter((e) => e.id !== eni.id));
  const round = policy.prefixDelegation ? roundUpToPrefix : (n: number) => n;
  if (policy.warmIpTarget !== 0 && others.available < round(policy.warmIpTarget)) {
    return `other ENIs hold ${others.available} free < WARM_IP_TARGET`;
  }
  if (policy.minimumIpTarget !== 0 && others.total < round(policy.minimumIpTarget)) {
    return `other ENIs hold ${others.total} < MINIMUM_IP_TARGET`;
  }
  if (policy.prefixDelegation && policy.warmPrefixTarget !== 0 && others.freePrefixes < policy.warmPrefixTarget) {
    return `other ENIs hold ${others.freePrefixes} free prefixes < WARM_PREFIX_TARGET`;
  }
  return undefined;
}

/** The ENI to free this cycle (highest device first), if any. */
export function deletableEni(enis: readonly EniState[], policy: WarmPoolPolicy): EniState | undefined {
  return byDevice(enis)
    .reverse()
    .find((e) => whyKeepEni(e, enis, policy) === undefined);
}

/** CIDRs a decrease gives back: free ones of the current unit, from the highest device down, at most `count`. */
export function releasableCidrs(
  enis: readonly EniState[],
  policy: WarmPoolPolicy,
  count: number,
): Array<{ readonly eni: string; readonly cidrs: string[] }> {
  const out: Array<{ eni: string; cidrs: string[] }> = [];
  let left = count;
  for (const eni of byDevice(enis).reverse()) {
    if (left <= 0) break;
    const cidrs = eni.cidrs
      .filter((c) => c.prefix === policy.prefixDelegation && isFreeable(c))
      .map((c) => c.cidr)
      .reverse()
      .slice(0, left);
    if (cidrs.length === 0) continue;
    left -= cidrs.length;
    out.push({ eni: eni.id, cidrs });
  }
  return out;
}
