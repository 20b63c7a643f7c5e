/**
 * The in-memory address datastore: ENIs → CIDRs (/32 or /28) → addresses → owner. Synchronous and clock-free (the
 * caller passes `now`), so the pool can persist each change before answering and undo it if the write fails.
 *
 * Address choice keeps pools packed and reuse safe: the lowest device first, then within one bucket (a /28 prefix, or
 * all /32s of an ENI) the address freed longest ago, never one still in IP_COOLDOWN_PERIOD. Packing lets whole
 * prefixes and ENIs go back to EC2; least-recently-freed reuse keeps stale conntrack entries of a deleted pod from
 * reaching a new one.
 */
import { ipv4CidrAddresses } from '../lib/address.ts';
import type { CidrState, EniState, PoolSnapshot } from './policy/types.ts';

/** The CNI's primary key for an assignment (ipamd's `IPAMKey`). */
export interface Owner {
  readonly networkName: string;
  readonly containerId: string;
  readonly ifName: string;
}

export interface OwnerMetadata {
  readonly k8sPodNamespace?: string;
  readonly k8sPodName?: string;
  readonly interfacesCount?: number;
}

/** An address handed to an owner. */
export interface Lease {
  readonly owner: Owner;
  readonly ip: string;
  readonly eniId: string;
  readonly deviceNumber: number;
  readonly cidr: string;
  readonly metadata: OwnerMetadata;
  /** Unix nanoseconds, as the checkpoint stores it. */
  readonly assignedAtNs: bigint;
}

export interface EniInfo {
  readonly id: string;
  readonly deviceNumber: number;
  readonly primary: boolean;
  readonly subnetId: string;
  readonly primaryIp: string;
}

/** Owners recovered without a checkpoint use this network name until their DEL arrives (ipamd: `_migrated-from-cri`). */
export const RECOVERED_NETWORK = '_recovered';

interface AddressRecord {
  owner?: Owner;
  metadata: OwnerMetadata;
  assignedAtNs: bigint;
  freedAtMs?: number;
}

interface CidrRecord {
  readonly cidr: string;
  readonly prefix: boolean;
  readonly addresses: readonly string[];
  readonly records: Map<string, AddressRecord>;
  /** EC2 no longer lists this CIDR but owners still hold addresses in it: nothing new is handed out from it. */
  quarantinedSinceMs?: number;
}

interface EniRecord extends EniInfo {
  readonly addedAtMs: number;
  readonly cidrs: Map<string, CidrRecord>;
}

export function ownerKey(owner: Owner): string {
  return `${owner.networkName}/${owner.containerId}/${owner.ifName}`;
}

export class Datastore {
  readonly #enis = new Map<string, EniRecord>();
  readonly #byOwner = new Map<string, { eni: string; cidr: string; ip: string }>();
  #cooldownMs: number;

  constructor(cooldownMs: number) {
    this.#cooldownMs = cooldownMs;
  }

  /** IP_COOLDOWN_PERIOD changed live: every freed address cools by the new period from now on. */
  setCooldown(ms: number): void {
    this.#cooldownMs = ms;
  }

  addEni(info: EniInfo, nowMs: number): void {
    if (this.#enis.has(info.id)) return;
    this.#enis.set(info.id, { ...info, addedAtMs: nowMs, cidrs: new Map() });
  }

  eniIds(): string[] {
    return [...this.#enis.keys()];
  }

  eni(id: string): EniInfo | undefined {
    const e = this.#enis.get(id);
    return e === undefined
      ? undefined
      : { id: e.id, deviceNumber: e.deviceNumber, primary: e.primary, subnetId: e.subnetId, primaryIp: e.primaryIp };
  }

  cidrs(eniId: string): Array<{ readonly cidr: string; readonly prefix: boolean; readonly quarantined: boolean }> {
    const eni = this.#enis.get(eniId);
    if (eni === undefined) return [];
    return [...eni.cidrs.values()].map((c) => ({
      cidr: c.cidr,
      prefix: c.prefix,
      quarantined: c.quarantinedSinceMs !== undefined,
    }));
  }

  addCidr(eniId: string, cidr: string, prefix: boolean): void {
    const eni = this.#require(eniId);
    const existing = eni.cidrs.get(cidr);
    if (existing !== undefined) {
      delete existing.quarantinedSinceMs;
      return;
    }
    eni.cidrs.set(cidr, { cidr, prefix, addresses: ipv4CidrAddresses(cidr), records: new Map() });
  }

  /** Owners holding addresses in a CIDR. */
  ownersIn(eniId: string, cidr: string): Lease[] {
    const eni = this.#enis.get(eniId);
    const c = eni?.cidrs.get(cidr);
    if (eni === undefined || c === undefined) return [];
    return [...c.records.entries()]
      .filter(([, r]) => r.owner !== undefined)
      .map(([ip, r]) => this.#lease(eni, c, ip, r));
  }

  /** Removes a CIDR nobody holds. Returns false (and changes nothing) if an owner still holds one of its addresses. */
  removeCidr(eniId: string, cidr: string): boolean {
    const eni = this.#enis.get(eniId);
    if (eni === undefined) return true;
    if (this.ownersIn(eniId, cidr).length > 0) return false;
    eni.cidrs.delete(cidr);
    return true;
  }

  quarantineCidr(eniId: string, cidr: string, nowMs: number): void {
    const c = this.#enis.get(eniId)?.cidrs.get(cidr);
    if (c !== undefined && c.quarantinedSinceMs === undefined) c.quarantinedSinceMs = nowMs;
  }

  /** Removes an ENI nobody holds an address on; returns false if an owner remains. */
  removeEni(eniId: string): boolean {
    const eni = this.#enis.get(eniId);
    if (eni === undefined) return true;
    for (const cidr of eni.cidrs.keys()) if (this.ownersIn(eniId, cidr).length > 0) return false;
    this.#enis.delete(eniId);
    return true;
  }

  leaseOf(owner: Owner): Lease | undefined {
    const at = this.#byOwner.get(ownerKey(owner));
    if (at === undefined) return undefined;
    const eni = this.#enis.get(at.eni)!;
    const cidr = eni.cidrs.get(at.cidr)!;
    return this.#lease(eni, cidr, at.ip, cidr.records.get(at.ip)!);
  }

  leases(): Lease[] {
    return [...this.#byOwner.values()].map((at) => {
      const eni = this.#enis.get(at.eni)!;
      const cidr = eni.cidrs.get(at.cidr)!;
      return this.#lease(eni, cidr, at.ip, cidr.records.get(at.ip)!);
    });
  }

  /** Hands the owner an address; the same owner asking twice gets the same lease. Undefined when none is free. */
  assign(owner: Owner, metadata: OwnerMetadata, nowMs: number): Lease | undefined {
    const existing = this.leaseOf(owner);
    if (existing !== undefined) return existing;
    const pick = this.#pickFree(nowMs);
    if (pick === undefined) return undefined;
    const { eni, cidr, ip } = pick;
    const record: AddressRecord = { owner, metadata, assignedAtNs: BigInt(nowMs) * 1_000_000n };
    cidr.records.set(ip, record);
    this.#byOwner.set(ownerKey(owner), { eni: eni.id, cidr: cidr.cidr, ip });
    return this.#lease(eni, cidr, ip, record);
  }

  /**
   * Places an owner at a known address (checkpoint restore, recovery). `outside`: no CIDR holds the address;
   * `taken`: someone else holds it.
   */
  place(lease: Omit<Lease, 'eniId' | 'deviceNumber' | 'cidr'>): 'placed' | 'outside' | 'taken' {
    for (const eni of this.#enis.values()) {
      for (const cidr of eni.cidrs.values()) {
        if (!cidr.addresses.includes(lease.ip)) continue;
        const current = cidr.records.get(lease.ip)?.owner;
        if (current !== undefined) return ownerKey(current) === ownerKey(lease.owner) ? 'placed' : 'taken';
        cidr.records.set(lease.ip, { owner: lease.owner, metadata: lease.metadata, assignedAtNs: lease.assignedAtNs });
        this.#byOwner.set(ownerKey(lease.owner), { eni: eni.id, cidr: cidr.cidr, ip: lease.ip });
        return 'placed';
      }
    }
    return 'outside';
  }

  /**
   * Frees the owner's address and starts its cooldown. Idempotent: an unknown owner returns undefined. When the
   * owner is unknown but `ip` is held by an owner recovered without a checkpoint, that one is released instead.
   */
  unassign(owner: Owner, nowMs: number, ip?: string): Lease | undefined {
    let at = this.#byOwner.get(ownerKey(owner));
    if (at === undefined && ip !== undefined) {
      at = [...this.#byOwner.entries()].find(([key, v]) => v.ip === ip && key.startsWith(`${RECOVERED_NETWORK}/`))?.[1];
    }
    if (at === undefined) return undefined;
    const eni = this.#enis.get(at.eni)!;
    const cidr = eni.cidrs.get(at.cidr)!;
    const record = cidr.records.get(at.ip)!;
    const lease = this.#lease(eni, cidr, at.ip, record);
    this.#byOwner.delete(ownerKey(lease.owner));
    cidr.records.set(at.ip, { metadata: {}, assignedAtNs: 0n, freedAtMs: nowMs });
    return lease;
  }

  /** Undoes an `assign` whose checkpoint write failed: the address goes back as if never handed out. */
  forget(owner: Owner): void {
    const at = this.#byOwner.get(ownerKey(owner));
    if (at === undefined) return;
    this.#byOwner.delete(ownerKey(owner));
    this.#enis.get(at.eni)?.cidrs.get(at.cidr)?.records.delete(at.ip);
  }

  /** Time until the first cooling address is usable again, or undefined if none cools. */
  nextFreeInMs(nowMs: number): number | undefined {
    let next: number | undefined;
    for (const eni of this.#enis.values()) {
      for (const cidr of eni.cidrs.values()) {
        for (const r of cidr.records.values()) {
          if (r.owner !== undefined || r.freedAtMs === undefined) continue;
          const left = r.freedAtMs + this.#cooldownMs - nowMs;
          if (left > 0) next = Math.min(next ?? left, left);
        }
      }
    }
    return next;
  }

  /** The frozen view the warm-pool policy decides on. */
  snapshot(nowMs: number, extra: Omit<PoolSnapshot, 'enis'>): PoolSnapshot {
    const enis: EniState[] = [...this.#enis.values()].map((eni) => ({
      id: eni.id,
      deviceNumber: eni.deviceNumber,
      primary: eni.primary,
      ageMs: nowMs - eni.addedAtMs,
      cidrs: [...eni.cidrs.values()].map((c) => this.#cidrState(c, nowMs)),
    }));
    return Object.freeze({ ...extra, enis });
  }

  #cidrState(c: CidrRecord, nowMs: number): CidrState {
    let assigned = 0;
    let cooling = 0;
    for (const r of c.records.values()) {
      if (r.owner !== undefined) assigned++;
      else if (this.#cooling(r, nowMs)) cooling++;
    }
    // A quarantined CIDR offers nothing new: it counts only the owners still on it.
    if (c.quarantinedSinceMs !== undefined) {
      return { cidr: c.cidr, prefix: c.prefix, size: assigned, assigned, cooling: 0, quarantined: assigned };
    }
    return { cidr: c.cidr, prefix: c.prefix, size: c.addresses.length, assigned, cooling, quarantined: 0 };
  }

  #cooling(r: AddressRecord, nowMs: number): boolean {
    return r.freedAtMs !== undefined && nowMs - r.freedAtMs < this.#cooldownMs;
  }

  #pickFree(nowMs: number): { eni: EniRecord; cidr: CidrRecord; ip: string } | undefined {
    const enis = [...this.#enis.values()].sort((a, b) => a.deviceNumber - b.deviceNumber);
    for (const eni of enis) {
      const usable = [...eni.cidrs.values()].filter((c) => c.quarantinedSinceMs === undefined);
      // Buckets: each /28 on its own (fill one before the next), all /32s of the ENI together.
      const buckets = [...usable.filter((c) => c.prefix).map((c) => [c]), usable.filter((c) => !c.prefix)];
      for (const bucket of buckets) {
        let best: { cidr: CidrRecord; ip: string; freedAtMs: number } | undefined;
        for (const cidr of bucket) {
          for (const ip of cidr.addresses) {
            const r = cidr.records.get(ip);
            if (r?.owner !== undefined || (r !== undefined && this.#cooling(r, nowMs))) continue;
            const freedAtMs = r?.freedAtMs ?? Number.NEGATIVE_INFINITY;
            if (best === undefined || freedAtMs < best.freedAtMs) best = { cidr, ip, freedAtMs };
          }
        }
        if (best !== undefined) return { eni, cidr: best.cidr, ip: best.ip };
      }
    }
    return undefined;
  }

  #require(id: string): EniRecord {
    const eni = this.#enis.get(id);
    if (eni === undefined) throw new Error(`datastore: unknown ENI ${id}`);
    return eni;
  }

  #lease(eni: EniRecord, cidr: CidrRecord, ip: string, r: AddressRecord): Lease {
    return {
      owner: r.owner!,
      ip,
      eniId: eni.id,
      deviceNumber: eni.deviceNumber,
      cidr: cidr.cidr,
      metadata: r.metadata,
      assignedAtNs: r.assignedAtNs,
    };
  }
}
