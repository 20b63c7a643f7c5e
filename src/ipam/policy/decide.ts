/**
 * The engine's one decision per step: `decide(state, snapshot, now, policy) → Action[]`, the pure half of ipamd's
 * `updateIPPoolIfRequired`. Grow when the pool is too low (fill existing ENIs first, then attach a new one) unless
 * the engine's state holds growth, otherwise give back free CIDRs when it is too high and the decrease interval has
 * passed, and independently free at most one unneeded ENI. The snapshot is the pool as the engine sees it now (the
 * datastore's ENIs and the facts `poolFacts` takes from the state), with the node's demand as the Kubernetes side
 * reports it: pods expected on the node count as assigned, and a cordoned node grows only for ADDs already waiting.
 */
import { counted } from '../../lib/counted.ts';
import { deletableEni, growableEnis, releasableCidrs, shouldRemoveExtraEnis } from './enis.ts';
import { type EngineState, growthHeld } from './loop.ts';
import {
  cordonedNeed,
  growthNeed,
  isTooLow,
  poolStats,
  releasableCount,
  warmIpTargetsDefined,
  withExpected,
} from './targets.ts';
import type { Action, PoolSnapshot, PoolStats, WarmPoolPolicy } from './types.ts';

export function decide(state: EngineState, snapshot: PoolSnapshot, now: number, policy: WarmPoolPolicy): Action[] {
  const stats = withExpected(poolStats(snapshot.enis), snapshot.cordoned ? 0 : snapshot.expectedPods);
  const low = snapshot.cordoned
    ? cordonedNeed(stats, snapshot.pendingPods, policy, snapshot.prefixFallback) > 0
    : isTooLow(stats, snapshot.pendingPods, policy);
  if (low) {
    // While growing (or held from it: a capacity pause, addresses not yet in IMDS), nothing is given back: a shrink
    // in the same cycle would only undo the growth.
    return growthHeld(state, now) ? [] : grow(snapshot, stats, policy);
  }
  // Pods waiting for an address are about to use the free ones: giving any back now would only buy them again.
  if (snapshot.pendingPods > 0) return [];
  const actions: Action[] = [];
  if (snapshot.msSinceLastDecrease >= policy.decreaseIntervalMs) actions.push(...shrink(snapshot, stats, policy));
  if (shouldRemoveExtraEnis(stats, snapshot.enis, policy)) {
    const eni = deletableEni(snapshot.enis, policy);
    if (eni !== undefined) {
      return [
        ...actions.filter((a) => a.kind !== 'release-ips' || a.eni !== eni.id),
        { kind: 'free-eni', eni: eni.id, reason: 'no pods, no cooldown, other ENIs cover the warm targets' },
      ];
    }
  }
  return actions;
}

function describeNeed(snapshot: PoolSnapshot, stats: PoolStats, policy: WarmPoolPolicy): string {
  const pending = snapshot.pendingPods;
  const pods = pending > 0 ? `, ${counted(pending, 'pod')} waiting` : '';
  if (snapshot.cordoned) return `cordoned: ${stats.available} free for ${counted(pending, 'pod')} waiting`;
  const expected = snapshot.expectedPods > 0 ? `, ${counted(snapshot.expectedPods, 'pod')} expected` : '';
  if (warmIpTargetsDefined(policy)) {
    return `${stats.available} free / ${stats.total} total < WARM_IP_TARGET=${policy.warmIpTarget} MINIMUM_IP_TARGET=${policy.minimumIpTarget}${pods}${expected}`;
  }
  if (policy.prefixDelegation) {
    return `${stats.available} free < WARM_PREFIX_TARGET=${policy.warmPrefixTarget} prefixes${pods}${expected}`;
  }
  return `${stats.available} free < WARM_ENI_TARGET=${policy.warmEniTarget} ENIs of ${policy.slotsPerEni}${pods}${expected}`;
}

function grow(snapshot: PoolSnapshot, stats: PoolStats, policy: WarmPoolPolicy): Action[] {
  const prefix = policy.prefixDelegation && !snapshot.prefixFallback;
  const wholeEnis = !snapshot.cordoned && !policy.prefixDelegation && !warmIpTargetsDefined(policy);
  let left = snapshot.cordoned
    ? cordonedNeed(stats, snapshot.pendingPods, policy, snapshot.prefixFallback)
    : growthNeed(stats, snapshot.pendingPods, policy, snapshot.prefixFallback);
  const reason = describeNeed(snapshot, stats, policy);
  const actions: Action[] = [];
  const onePerCycle = policy.mode === 'reference';
  for (const eni of growableEnis(snapshot.enis, policy)) {
    const free = policy.slotsPerEni - eni.cidrs.length;
    const count = wholeEnis ? free : Math.min(free, left);
    actions.push({ kind: 'assign-ips', eni: eni.id, count, prefix, reason });
    left -= count;
    if (onePerCycle || left <= 0) return actions;
  }
  let enis = snapshot.enis.length;
  while (left > 0 && enis < policy.maxEnis) {
    const count = wholeEnis ? policy.slotsPerEni : Math.min(left, policy.slotsPerEni);
    actions.push({ kind: 'attach-eni', count, prefix, reason });
    left -= count;
    enis++;
    if (onePerCycle) break;
  }
  return actions;
}

function shrink(snapshot: PoolSnapshot, stats: PoolStats, policy: WarmPoolPolicy): Action[] {
  const count = releasableCount(stats, policy);
  if (count <= 0) return [];
  const unit = policy.prefixDelegation ? 'prefixes' : 'addresses';
  return releasableCidrs(snapshot.enis, policy, count).map(({ eni, cidrs }) => ({
    kind: 'release-ips' as const,
    eni,
    cidrs,
    reason: `${count} free ${unit} above the warm targets`,
  }));
}
