/**
 * Names the reason a pod found no free address, from the same snapshot the policy decides on. A cloud failure seen on
 * the last grow attempt (throttling, an exhausted subnet, IMDS lag) is passed in, since only the cloud side knows it.
 */

import type { ShortageReason } from '../../lib/shortage.ts';
import { growableEnis } from './enis.ts';
import { poolStats } from './targets.ts';
import type { PoolSnapshot, WarmPoolPolicy } from './types.ts';

export interface ShortageFacts {
  /** Time until the first cooling address becomes free again, if any is cooling. */
  readonly nextFreeInMs: number | undefined;
  /** The failure of the last grow attempt, while it is still current. */
  readonly cloudFailure: ShortageReason | undefined;
}

export function shortageReason(snapshot: PoolSnapshot, policy: WarmPoolPolicy, facts: ShortageFacts): ShortageReason {
  const stats = poolStats(snapshot.enis);
  const cooling: ShortageReason | undefined =
    stats.cooling > 0 ? { code: 'COOLDOWN', cooling: stats.cooling, nextFreeInMs: facts.nextFreeInMs ?? 0 } : undefined;
  if (stats.total >= policy.maxPods)
    return cooling ?? { code: 'MAX_PODS', addresses: stats.total, maxPods: policy.maxPods };
  if (facts.cloudFailure !== undefined) return facts.cloudFailure;
  const full = growableEnis(snapshot.enis, policy).length === 0 && snapshot.enis.length >= policy.maxEnis;
  if (full) {
    const slotsUsed = snapshot.enis.reduce((n, e) => n + e.cidrs.length, 0);
    return (
      cooling ?? {
        code: 'ENI_LIMIT',
        enis: snapshot.enis.length,
        maxEnis: policy.maxEnis,
        slotsUsed,
        slots: policy.maxEnis * policy.slotsPerEni,
      }
    );
  }
  return { code: 'POOL_GROWING', requested: Math.max(snapshot.pendingPods, 1) };
}
