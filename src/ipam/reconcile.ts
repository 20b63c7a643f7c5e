/**
 * Datastore against EC2 (authoritative): a pure comparison that returns changes as values. Addresses EC2 lists and we
 * lack are adopted; CIDRs and ENIs EC2 no longer has are dropped only when nobody holds an address in them. One
 * observation never takes an address from its owner: such a CIDR is quarantined (kept for the owner, closed to new
 * pods, counted in a metric) until EC2 lists it again or the owner's DEL arrives (the reference force-deletes here
 * and loses running pods: its #3824, #3887).
 */
import type { EniObservation } from './cloud/ec2.ts';

export interface HeldCidr {
  readonly cidr: string;
  readonly owners: number;
  readonly quarantined: boolean;
}

export interface HeldEni {
  readonly id: string;
  readonly cidrs: readonly HeldCidr[];
}

export type ReconcileChange =
  | { readonly kind: 'adopt-eni'; readonly eni: EniObservation }
  | { readonly kind: 'adopt-cidr'; readonly eniId: string; readonly cidr: string; readonly prefix: boolean }
  | { readonly kind: 'drop-cidr'; readonly eniId: string; readonly cidr: string }
  | { readonly kind: 'quarantine-cidr'; readonly eniId: string; readonly cidr: string; readonly owners: number }
  | { readonly kind: 'drop-eni'; readonly eniId: string };

/** The CIDRs EC2 lists on an ENI, the ENI's own primary address excluded. */
export function observedCidrs(eni: EniObservation): Array<{ readonly cidr: string; readonly prefix: boolean }> {
  return [
    ...eni.secondaryIps.map((ip) => ({ cidr: `${ip}/32`, prefix: false })),
    ...eni.prefixes.map((p) => ({ cidr: p, prefix: true })),
  ];
}

/** `inFlight`: CIDRs we are giving back right now, which EC2 may still list; they are not re-adopted. */
export function reconcile(
  held: readonly HeldEni[],
  observed: readonly EniObservation[],
  inFlight: ReadonlySet<string> = new Set(),
): ReconcileChange[] {
  const changes: ReconcileChange[] = [];
  const seen = new Map(observed.map((e) => [e.id, e]));
  for (const eni of held) {
    const live = seen.get(eni.id);
    const liveCidrs = new Set(live === undefined ? [] : observedCidrs(live).map((c) => c.cidr));
    for (const cidr of eni.cidrs) {
      if (liveCidrs.has(cidr.cidr)) continue;
      if (cidr.owners === 0) changes.push({ kind: 'drop-cidr', eniId: eni.id, cidr: cidr.cidr });
      else if (!cidr.quarantined) {
        changes.push({ kind: 'quarantine-cidr', eniId: eni.id, cidr: cidr.cidr, owners: cidr.owners });
      }
    }
    if (live === undefined && eni.cidrs.every((c) => c.owners === 0)) changes.push({ kind: 'drop-eni', eniId: eni.id });
  }
  const heldIds = new Set(held.map((e) => e.id));
  for (const eni of observed) {
    if (!heldIds.has(eni.id)) {
      changes.push({ kind: 'adopt-eni', eni });
      continue;
    }
    const mine = new Map(held.find((e) => e.id === eni.id)!.cidrs.map((c) => [c.cidr, c]));
    for (const c of observedCidrs(eni)) {
      const have = mine.get(c.cidr);
      // A quarantined CIDR that EC2 lists again is re-adopted, which lifts the quarantine.
      if ((have === undefined || have.quarantined) && !inFlight.has(c.cidr)) {
        changes.push({ kind: 'adopt-cidr', eniId: eni.id, ...c });
      }
    }
  }
  return changes;
}
