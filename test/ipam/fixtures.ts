import type { WarmPoolPolicy } from '../../src/ipam/policy/types.ts';

/** A t3.small's pool (3 ENIs of 3 slots) with the reference defaults: WARM_ENI_TARGET=1, ipamd's timings. */
export const basePolicy: WarmPoolPolicy = {
  warmEniTarget: 1,
  warmIpTarget: 0,
  minimumIpTarget: 0,
  warmPrefixTarget: 0,
  prefixDelegation: false,
  maxEnis: 3,
  slotsPerEni: 3,
  maxPods: 110,
  skipPrimaryEni: false,
  minEniLifetimeMs: 60_000,
  decreaseIntervalMs: 30_000,
  mode: 'reference',
};
