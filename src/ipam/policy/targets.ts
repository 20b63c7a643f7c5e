/**
 * Warm-pool arithmetic on plain numbers (ipamd's `datastoreTargetState`, `isDatastorePoolTooLow/TooHigh`,
 * `getPrefixesNeeded`). Each function is a formula over counts so the tables in test/ipam can check it row by row.
 */
import type { CidrState, EniState, PoolStats, WarmPoolPolicy } from './types.ts';

export const PREFIX_SIZE = 16;

export function poolStats(enis: readonly EniState[]): PoolStats {
  let total = 0;
  let assigned = 0;
  let cooling = 0;
  let totalPrefixes = 0;
  let freePrefixes = 0;
  for (const eni of enis) {
    for (const cidr of eni.cidrs) {
      total += cidr.size;
      assigned += cidr.assigned;
      cooling += cidr.cooling;
      if (cidr.prefix) {
        totalPrefixes++;
        if (isFreeable(cidr)) freePrefixes++;
      }
    }
  }
  return { total, assigned, cooling, available: total - assigned - cooling, totalPrefixes, freePrefixes };
}

/** A CIDR may go back to EC2 only when nobody holds, cools or is quarantined on any of its addresses. */
export function isFreeable(cidr: CidrState): boolean {
  return cidr.assigned === 0 && cidr.cooling === 0 && cidr.quarantined === 0;
}

/** ipamd: "warm IP targets defined" ⇔ WARM_IP_TARGET or MINIMUM_IP_TARGET is non-zero; they then override the rest. */
export function warmIpTargetsDefined(policy: WarmPoolPolicy): boolean {
  return policy.warmIpTarget !== 0 || policy.minimumIpTarget !== 0;
}

export interface Counts {
  readonly available: number;
  readonly total: number;
  readonly warm: number;
  readonly minimum: number;
}

/** Addresses missing to meet WARM_IP_TARGET (free) and MINIMUM_IP_TARGET (total), whichever asks more. */
export function shortfall({ available, total, warm, minimum }: Counts): number {
  return Math.max(warm - available, minimum - total, 0);
}

/** Free addresses beyond WARM_IP_TARGET that can go without dropping below MINIMUM_IP_TARGET. */
export function excess({ available, total, warm, minimum }: Counts): number {
  return Math.max(Math.min(Math.max(available - warm, 0), total - minimum), 0);
}

export interface PrefixCounts {
  readonly assigned: number;
  readonly totalPrefixes: number;
  readonly freePrefixes: number;
  readonly warm: number;
  readonly minimum: number;
}

/**
 * Free prefixes that may go in prefix mode with warm IP targets: keep enough whole prefixes for the assigned
 * addresses plus WARM_IP_TARGET, and for MINIMUM_IP_TARGET, each rounded up to prefixes (ipamd's conversion).
 */
export function prefixExcess({ assigned, totalPrefixes, freePrefixes, warm, minimum }: PrefixCounts): number {
  const needWarm = Math.ceil((assigned + warm) / PREFIX_SIZE);
  const needMin = Math.ceil(minimum / PREFIX_SIZE);
  return Math.max(Math.min(freePrefixes, totalPrefixes - needWarm, totalPrefixes - needMin), 0);
}

/** The unit a warm target counts in without warm IP targets: a whole ENI of /32s, or one /28. */
export function warmUnit(policy: WarmPoolPolicy): { readonly unit: number; readonly target: number } {
  return policy.prefixDelegation
    ? { unit: PREFIX_SIZE, target: policy.warmPrefixTarget }
    : { unit: policy.slotsPerEni, target: policy.warmEniTarget };
}

/**
 * Addresses that would still be free once the pods waiting now are served. The reference policy does not look at
 * waiting pods; `surge` does, so a burst is covered in one cycle instead of one ENI per cycle.
 */
export function effectiveAvailable(stats: PoolStats, pendingPods: number, policy: WarmPoolPolicy): number {
  return policy.mode === 'surge' ? stats.available - pendingPods : stats.available;
}

/**
 * Pods bound to the node whose ADD has not arrived count as assigned already: the same warm-target arithmetic then
 * keeps (or buys) addresses for them and keeps whole prefixes for them, in either mode. `available` may go negative.
 */
export function withExpected(stats: PoolStats, expectedPods: number): PoolStats {
  if (expectedPods <= 0) return stats;
  return { ...stats, assigned: stats.assigned + expectedPods, available: stats.available - expectedPods };
}

/**
 * A cordoned node buys only for ADDs already waiting, exactly their shortfall (in slots: addresses, or prefixes in
 * prefix mode), never for warm targets: it is being drained, and what it buys would only go back to EC2.
 */
export function cordonedNeed(stats: PoolStats, pendingPods: number, policy: WarmPoolPolicy, fallback: boolean): number {
  const addresses = Math.min(pendingPods - stats.available, policy.maxPods - stats.total);
  if (addresses <= 0) return 0;
  return policy.prefixDelegation && !fallback ? Math.ceil(addresses / PREFIX_SIZE) : addresses;
}

/** ipamd's `isDatastorePoolTooLow`, plus: a pod waiting on an empty pool always counts as low. */
export function isTooLow(stats: PoolStats, pendingPods: number, policy: WarmPoolPolicy): boolean {
  if (stats.total >= policy.maxPods) return false;
  if (pendingPods > 0 && stats.available <= 0) return true;
  const available = effectiveAvailable(stats, pendingPods, policy);
  if (warmIpTargetsDefined(policy)) {
    return shortfall({ available, total: stats.total, warm: policy.warmIpTarget, minimum: policy.minimumIpTarget }) > 0;
  }
  const { unit, target } = warmUnit(policy);
  return available < unit * target || (target === 0 && available <= 0);
}

/**
 * How many CIDRs (addresses, or prefixes in prefix mode) a decrease may give back; > 0 is ipamd's
 * `isDatastorePoolTooHigh`. With only WARM_ENI_TARGET single addresses are never returned (whole ENIs are).
 */
export function releasableCount(stats: PoolStats, policy: WarmPoolPolicy): number {
  if (warmIpTargetsDefined(policy)) {
    if (policy.prefixDelegation) {
      return prefixExcess({
        assigned: stats.assigned,
        totalPrefixes: stats.totalPrefixes,
        freePrefixes: stats.freePrefixes,
        warm: policy.warmIpTarget,
        minimum: policy.minimumIpTarget,
      });
    }
    return excess({
      available: stats.available,
      total: stats.total,
      warm: policy.warmIpTarget,
      minimum: policy.minimumIpTarget,
    });
  }
  return policy.prefixDelegation ? Math.max(stats.freePrefixes - policy.warmPrefixTarget, 0) : 0;
}

/**
 * CIDRs to add in one grow step, in the unit the ENI slots count (addresses, or prefixes in prefix mode).
 * `fallback` means prefixes are unavailable in the subnet: the same need expressed in single addresses.
 */
export function growthNeed(stats: PoolStats, pendingPods: number, policy: WarmPoolPolicy, fallback: boolean): number {
  const available = effectiveAvailable(stats, pendingPods, policy);
  const surge = policy.mode === 'surge';
  let addresses: number;
  let prefixes: number;
  if (warmIpTargetsDefined(policy)) {
    addresses = shortfall({
      available,
      total: stats.total,
      warm: policy.warmIpTarget,
      minimum: policy.minimumIpTarget,
    });
    prefixes = Math.ceil(addresses / PREFIX_SIZE);
  } else if (policy.prefixDelegation) {
    const wanted = policy.warmPrefixTarget * PREFIX_SIZE;
    addresses = Math.max(wanted - available, available <= 0 ? 1 : 0);
    prefixes = Math.max(policy.warmPrefixTarget - stats.freePrefixes, 0);
    if (surge) prefixes = Math.max(prefixes, Math.ceil(addresses / PREFIX_SIZE));
  } else {
    // WARM_ENI_TARGET grows by whole ENIs; the surge policy may need several of them for a burst.
    const deficit = policy.slotsPerEni * policy.warmEniTarget - available;
    addresses = surge ? Math.max(deficit, policy.slotsPerEni) : policy.slotsPerEni;
    prefixes = 0;
  }
  if (pendingPods > 0 && stats.available <= 0) {
    addresses = Math.max(addresses, 1);
    prefixes = Math.max(prefixes, 1);
  }
  if (surge) addresses = Math.min(addresses, Math.max(policy.maxPods - stats.total, 1));
  if (policy.prefixDelegation && !fallback) return Math.max(prefixes, 1);
  return Math.max(addresses, 1);
}
