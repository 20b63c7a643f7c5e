/**
 * The pool in the numbers people and scrapers read: per ENI and in all, free / assigned / cooling / quarantined. One
 * place computes them from the engine's snapshot, so `/metrics`, `/v1/status` and `vpc-cni status` never disagree.
 */
import type { PoolSnapshot } from '../ipam/policy/types.ts';

export interface EniFigures {
  readonly eni: string;
  readonly deviceNumber: number;
  readonly primary: boolean;
  /** Addresses the ENI holds for pods (secondary /32s, or 16 per /28 prefix). */
  readonly total: number;
  readonly assigned: number;
  /** Freed addresses still in IP_COOLDOWN_PERIOD: neither usable nor releasable. */
  readonly cooling: number;
  /** Addresses on CIDRs EC2 no longer lists, kept only for the pods still on them. */
  readonly quarantined: number;
  /** Usable now: total − assigned − cooling. */
  readonly free: number;
  readonly prefixes: number;
}

export interface PoolFigures {
  readonly enis: readonly EniFigures[];
  readonly total: number;
  readonly assigned: number;
  readonly cooling: number;
  readonly quarantined: number;
  readonly free: number;
  readonly prefixes: number;
  /** ADDs waiting for an address right now. */
  readonly waitingPods: number;
}

/** PURE. */
export function poolFigures(snapshot: PoolSnapshot): PoolFigures {
  const enis = snapshot.enis
    .map((e): EniFigures => {
      const sum = (pick: (c: (typeof e.cidrs)[number]) => number) => e.cidrs.reduce((n, c) => n + pick(c), 0);
      const total = sum((c) => c.size);
      const assigned = sum((c) => c.assigned);
      const cooling = sum((c) => c.cooling);
      return {
        eni: e.id,
        deviceNumber: e.deviceNumber,
        primary: e.primary,
        total,
        assigned,
        cooling,
        quarantined: sum((c) => c.quarantined),
        free: total - assigned - cooling,
        prefixes: e.cidrs.filter((c) => c.prefix).length,
      };
    })
    .sort((a, b) => a.deviceNumber - b.deviceNumber);
  const sum = (pick: (e: EniFigures) => number) => enis.reduce((n, e) => n + pick(e), 0);
  return {
    enis,
    total: sum((e) => e.total),
    assigned: sum((e) => e.assigned),
    cooling: sum((e) => e.cooling),
    quarantined: sum((e) => e.quarantined),
    free: sum((e) => e.free),
    prefixes: sum((e) => e.prefixes),
    waitingPods: snapshot.pendingPods,
  };
}
