/**
 * The IPAM engine: one pool per node. `start()` learns the node's ENIs from EC2 and restores the checkpoint (or
 * recovers from EC2 and the kernel when it is refused); `step()` is one loop iteration (reconcile when due, then
 * snapshot → policy.decide → EC2 → datastore); `assign`/`release` serve CNI ADD/DEL. Time comes from an injected
 * clock, so tests and `vpc-cni simulate` drive the loop step by step.
 */

import { CheckpointError, readCheckpoint, setAside } from './checkpoint.ts';
import type { Ec2Api } from './cloud/client.ts';
import type { Ec2Allocator, EniObservation } from './cloud/ec2.ts';
import { type CloudError, classify } from './cloud/errors.ts';
import type { ImdsClient } from './cloud/imds.ts';
import type { Clock } from './cloud/rate.ts';
import type { SubnetInfo } from './cloud/subnets.ts';
import { Datastore, type Lease, type Owner, type OwnerMetadata, ownerKey, RECOVERED_NETWORK } from './datastore.ts';
import { decide } from './policy/decide.ts';
import { shortageReason } from './policy/shortage.ts';
import type { Action, PoolSnapshot, WarmPoolPolicy } from './policy/types.ts';
import { AddressPool } from './pool.ts';
import type { ShortageReason } from './reasons.ts';
import { type HeldEni, observedCidrs, type ReconcileChange, reconcile } from './reconcile.ts';

/** ipamd pauses growth this long after the subnet ran out of addresses or /28s. */
export const INSUFFICIENT_CAPACITY_PAUSE_MS = 120_000;
export const RECONCILE_INTERVAL_MS = 60_000;
/** The reference's leaked-ENI sweep period. */
export const LEAK_SWEEP_INTERVAL_MS = 3_600_000;
const SUBNET_CACHE_MS = 60_000;

export interface EngineOptions {
  readonly policy: WarmPoolPolicy;
  /** IP_COOLDOWN_PERIOD in ms. */
  readonly cooldownMs: number;
  /** AWS_VPC_K8S_CNI_BACKING_STORE. */
  readonly checkpointPath: string;
  readonly allocator: Ec2Allocator;
  readonly api: Ec2Api;
  readonly clock: Clock;
  readonly primaryEniId: string;
  /**
   * IMDS, a hint only: new addresses enter the pool once IMDS shows them (the host side finds ENIs and addresses
   * there), or after `imdsMaxWaitMs` anyway, since EC2 already confirmed them.
   */
  readonly imds?: ImdsClient;
  readonly imdsMaxWaitMs?: number;
  /** Sweep leaked ENIs hourly (off with DISABLE_LEAKED_ENI_CLEANUP). */
  readonly leakSweep?: boolean;
  /** Pod addresses the kernel routes to pod veths; used only when the checkpoint is refused. */
  readonly podRoutes?: () => Promise<ReadonlyArray<{ readonly ip: string; readonly dev: string }>>;
}

export type AssignResult =
  | { readonly ok: true; readonly lease: Lease }
  | { readonly ok: false; readonly reason: ShortageReason };

/** What happened, for logs, metrics and pod Events; the engine never decides silently. */
export interface EngineEvent {
  readonly atMs: number;
  readonly kind: 'action' | 'action-failed' | 'reconcile' | 'checkpoint-refused' | 'prefix-fallback' | 'note';
  readonly message: string;
}

export class IpamEngine {
  readonly store: Datastore;
  readonly pool: AddressPool;
  readonly events: EngineEvent[] = [];
  readonly #o: EngineOptions;
  readonly #waiting = new Set<string>();
  readonly #attachments = new Map<string, string>();
  readonly #macs = new Map<string, string>();
  /** Addresses EC2 assigned that IMDS does not show yet, per ENI. */
  readonly #awaitingImds = new Map<string, { cidrs: Array<{ cidr: string; prefix: boolean }>; sinceMs: number }>();
  readonly #inFlight = new Set<string>();
  #ready = false;
  #primaryGroups: readonly string[] = [];
  #lastDecreaseAt = Number.NEGATIVE_INFINITY;
  #lastReconcileAt = Number.NEGATIVE_INFINITY;
  #lastSweepAt: number | undefined;
  #prefixFallbackUntil = Number.NEGATIVE_INFINITY;
  #growthPausedUntil = Number.NEGATIVE_INFINITY;
  #cloudFailure: { reason: ShortageReason; atMs: number } | undefined;
  #subnets: { list: SubnetInfo[]; atMs: number } | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.store = new Datastore(options.cooldownMs);
    this.pool = new AddressPool(this.store, options.checkpointPath);
  }

  #now(): number {
    return this.#o.clock.now();
  }

  #event(kind: EngineEvent['kind'], message: string): void {
    this.events.push({ atMs: this.#now(), kind, message });
  }

  /** Learns the ENIs from EC2, then restores the checkpoint (or recovers), then persists the result. */
  async start(): Promise<void> {
    const observed = await this.#o.allocator.describeNode();
    const primary = observed.find((e) => e.id === this.#o.primaryEniId);
    if (primary === undefined) throw new Error(`primary ENI ${this.#o.primaryEniId} is not attached according to EC2`);
    this.#primaryGroups = primary.securityGroups;
    this.#applyReconcile(reconcile([], observed));
    this.#lastReconcileAt = this.#now();
    try {
      this.#restore(await readCheckpoint(this.#o.checkpointPath), 'checkpoint');
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      await this.#recover(error);
    }
    await this.pool.persist();
    this.#ready = true;
  }

  #restore(entries: ReadonlyArray<Omit<Lease, 'eniId' | 'deviceNumber' | 'cidr'>>, source: string): void {
    for (const entry of entries) {
      const where = this.store.place(entry);
      if (where === 'placed') continue;
      // Never dropped: an owner whose address EC2 does not list is kept in quarantine on a placeholder CIDR.
      if (where === 'outside') {
        this.store.addCidr(this.#o.primaryEniId, `${entry.ip}/32`, false);
        this.store.quarantineCidr(this.#o.primaryEniId, `${entry.ip}/32`, this.#now());
        this.store.place(entry);
        this.#event('note', `${source}: ${entry.ip} of ${ownerKey(entry.owner)} is not on any ENI: quarantined`);
      } else {
        this.#event('note', `${source}: ${entry.ip} claimed twice; kept the first owner, ${ownerKey(entry.owner)} not`);
      }
    }
  }

  async #recover(error: CheckpointError): Promise<void> {
    if (this.#o.podRoutes === undefined) {
      throw new Error(`${error.message}; refusing to start without a kernel route source to recover owners from`, {
        cause: error,
      });
    }
    const aside = await setAside(error.path, this.#now());
    this.#event('checkpoint-refused', `${error.message} (kept as ${aside}); recovering from EC2 and kernel routes`);
    const routes = await this.#o.podRoutes();
    this.#restore(
      routes.map((r) => ({
        owner: { networkName: RECOVERED_NETWORK, containerId: `route:${r.dev}`, ifName: 'eth0' },
        ip: r.ip,
        metadata: {},
        assignedAtNs: BigInt(this.#now()) * 1_000_000n,
      })),
      'recovery',
    );
  }

  /** CNI ADD: an address now, or the reason there is none (and the pod counts as waiting for the next step). */
  async assign(owner: Owner, metadata: OwnerMetadata = {}): Promise<AssignResult> {
    if (!this.#ready) return { ok: false, reason: { code: 'NOT_READY', phase: 'starting' } };
    const lease = await this.pool.assign(owner, metadata, this.#now());
    if (lease !== undefined) {
      this.#waiting.delete(ownerKey(owner));
      return { ok: true, lease };
    }
    this.#waiting.add(ownerKey(owner));
    const snapshot = this.snapshot();
    return {
      ok: false,
      reason: shortageReason(snapshot, this.#o.policy, {
        nextFreeInMs: this.store.nextFreeInMs(this.#now()),
        cloudFailure: this.#currentFailure(),
      }),
    };
  }

  /** CNI DEL: idempotent; `ip` lets a DEL release an owner recovered without a checkpoint. */
  async release(owner: Owner, ip?: string): Promise<Lease | undefined> {
    this.#waiting.delete(ownerKey(owner));
    const lease = await this.pool.release(owner, this.#now(), ip);
    if (lease !== undefined) this.#dropEmptyQuarantine(lease);
    return lease;
  }

  #dropEmptyQuarantine(lease: Lease): void {
    const cidr = this.store.cidrs(lease.eniId).find((c) => c.cidr === lease.cidr);
    if (cidr?.quarantined) this.store.removeCidr(lease.eniId, lease.cidr);
  }

  snapshot(): PoolSnapshot {
    const now = this.#now();
    return this.store.snapshot(now, {
      pendingPods: this.#waiting.size,
      msSinceLastDecrease: now - this.#lastDecreaseAt,
      prefixFallback: now < this.#prefixFallbackUntil,
    });
  }

  #currentFailure(): ShortageReason | undefined {
    const [eniId, awaiting] = [...this.#awaitingImds.entries()][0] ?? [];
    if (eniId !== undefined && awaiting !== undefined) {
      return { code: 'IMDS_SYNC_PENDING', eniId, waitedMs: this.#now() - awaiting.sinceMs };
    }
    const f = this.#cloudFailure;
    return f !== undefined && this.#now() - f.atMs < INSUFFICIENT_CAPACITY_PAUSE_MS ? f.reason : undefined;
  }

  /** One loop iteration; returns the actions it carried out (failed ones are in `events`). */
  async step(): Promise<Action[]> {
    try {
      if (this.#now() - this.#lastReconcileAt >= RECONCILE_INTERVAL_MS) await this.reconcileNow();
      await this.#o.allocator.retryPendingDeletes();
      await this.#sweepWhenDue();
    } catch (error) {
      // Without a fresh EC2 view the pool keeps deciding on the last one; the next step tries again.
      this.#event('action-failed', `reconcile: ${(error as Error).message}`);
    }
    await this.#landFromImds();
    // No new growth while the last one is not visible in IMDS yet: the pool would only buy the same addresses twice.
    const growthHeld = this.#now() < this.#growthPausedUntil || this.#awaitingImds.size > 0;
    const actions = decide(this.snapshot(), this.#o.policy).filter(
      (a) => !((a.kind === 'assign-ips' || a.kind === 'attach-eni') && growthHeld),
    );
    const done: Action[] = [];
    for (const action of actions) {
      try {
        await this.#execute(action);
        this.#event('action', `${describe(action)} (${action.reason})`);
        done.push(action);
      } catch (error) {
        this.#onFailure(action, classify(error, action.kind));
        break;
      }
    }
    return done;
  }

  async #sweepWhenDue(): Promise<void> {
    if (!this.#o.leakSweep) return;
    const now = this.#now();
    // The first sweep waits a full period too: a fleet restarting together does not sweep together.
    this.#lastSweepAt ??= now;
    if (now - this.#lastSweepAt < LEAK_SWEEP_INTERVAL_MS) return;
    this.#lastSweepAt = now;
    const deleted = await this.#o.allocator.sweepLeaked(now);
    if (deleted.length > 0) this.#event('note', `deleted leaked ENIs: ${deleted.join(', ')}`);
  }

  /** Gauges and counters for the metrics endpoint. */
  metrics(): Record<string, number> {
    const snapshot = this.snapshot();
    const cidrs = snapshot.enis.flatMap((e) => e.cidrs);
    const counts = this.#o.api.counts;
    return {
      ipam_enis: snapshot.enis.length,
      ipam_total_addresses: cidrs.reduce((n, c) => n + c.size, 0),
      ipam_assigned_addresses: cidrs.reduce((n, c) => n + c.assigned, 0),
      ipam_cooling_addresses: cidrs.reduce((n, c) => n + c.cooling, 0),
      ipam_quarantined_addresses: this.quarantined,
      ipam_pending_pods: snapshot.pendingPods,
      ipam_pending_eni_deletes: this.#o.allocator.pendingDeletes.size,
      ec2_calls_total: counts.total,
      ec2_calls_mutating: counts.mutating,
      ec2_throttled_total: counts.throttled,
      ec2_failed_total: counts.failed,
    };
  }

  async reconcileNow(): Promise<ReconcileChange[]> {
    const observed = await this.#o.allocator.describeNode();
    const held: HeldEni[] = this.store.eniIds().map((id) => ({
      id,
      cidrs: this.store.cidrs(id).map((c) => ({
        cidr: c.cidr,
        quarantined: c.quarantined,
        owners: this.store.ownersIn(id, c.cidr).length,
      })),
    }));
    const changes = reconcile(held, observed, this.#inFlight);
    this.#applyReconcile(changes);
    this.#lastReconcileAt = this.#now();
    for (const c of changes) this.#event('reconcile', JSON.stringify(c));
    return changes;
  }

  #applyReconcile(changes: readonly ReconcileChange[]): void {
    for (const change of changes) {
      switch (change.kind) {
        case 'adopt-eni':
          this.#adoptEni(change.eni);
          break;
        case 'adopt-cidr':
          this.store.addCidr(change.eniId, change.cidr, change.prefix);
          break;
        case 'drop-cidr':
          this.store.removeCidr(change.eniId, change.cidr);
          break;
        case 'quarantine-cidr':
          this.store.quarantineCidr(change.eniId, change.cidr, this.#now());
          break;
        case 'drop-eni':
          this.store.removeEni(change.eniId);
          this.#attachments.delete(change.eniId);
          break;
      }
    }
  }

  /** Addresses held by owners on CIDRs EC2 no longer lists (exported as the `quarantined_addresses` metric). */
  get quarantined(): number {
    return this.store
      .eniIds()
      .flatMap((id) =>
        this.store
          .cidrs(id)
          .filter((c) => c.quarantined)
          .map((c) => this.store.ownersIn(id, c.cidr)),
      )
      .reduce((n, owners) => n + owners.length, 0);
  }

  #adoptEni(eni: EniObservation, viaImds = false): void {
    this.store.addEni(
      {
        id: eni.id,
        deviceNumber: eni.deviceNumber,
        primary: eni.id === this.#o.primaryEniId,
        subnetId: eni.subnetId,
        primaryIp: eni.primaryIp,
      },
      this.#now(),
    );
    this.#attachments.set(eni.id, eni.attachmentId);
    this.#macs.set(eni.id, eni.mac);
    if (viaImds) this.#land(eni.id, observedCidrs(eni));
    else for (const c of observedCidrs(eni)) this.store.addCidr(eni.id, c.cidr, c.prefix);
  }

  /** Adds CIDRs EC2 just assigned, through the IMDS wait when an IMDS client is configured. */
  #land(eniId: string, cidrs: ReadonlyArray<{ cidr: string; prefix: boolean }>): void {
    if (this.#o.imds === undefined) {
      for (const c of cidrs) this.store.addCidr(eniId, c.cidr, c.prefix);
      return;
    }
    const awaiting = this.#awaitingImds.get(eniId) ?? { cidrs: [], sinceMs: this.#now() };
    awaiting.cidrs.push(...cidrs);
    this.#awaitingImds.set(eniId, awaiting);
  }

  /** One IMDS look per waiting ENI: adds what IMDS shows; past the bound, adds the rest anyway and says so. */
  async #landFromImds(): Promise<void> {
    const imds = this.#o.imds;
    if (imds === undefined) return;
    for (const [eniId, awaiting] of [...this.#awaitingImds]) {
      const base = `network/interfaces/macs/${this.#macs.get(eniId) ?? ''}`;
      let visible = new Set<string>();
      try {
        const [ips, prefixes] = await Promise.all([
          imds.getOptional(`${base}/local-ipv4s`),
          imds.getOptional(`${base}/ipv4-prefix`),
        ]);
        visible = new Set([
          ...(ips ?? '').split('\n').map((ip) => `${ip.trim()}/32`),
          ...(prefixes ?? '').split('\n').map((p) => p.trim()),
        ]);
      } catch (error) {
        this.#event('note', `IMDS read for ${eniId} failed: ${(error as Error).message}`);
      }
      const expired = this.#now() - awaiting.sinceMs >= (this.#o.imdsMaxWaitMs ?? 30_000);
      const landing = awaiting.cidrs.filter((c) => expired || visible.has(c.cidr));
      for (const c of landing) this.store.addCidr(eniId, c.cidr, c.prefix);
      awaiting.cidrs = awaiting.cidrs.filter((c) => !landing.includes(c));
      if (expired && landing.length > 0 && !landing.every((c) => visible.has(c.cidr))) {
        this.#event('note', `IMDS still lacks addresses of ${eniId}; using EC2's word for them`);
      }
      if (awaiting.cidrs.length === 0) this.#awaitingImds.delete(eniId);
    }
  }

  async #execute(action: Action): Promise<void> {
    const allocator = this.#o.allocator;
    switch (action.kind) {
      case 'assign-ips': {
        const got = await allocator.assign(action.eni, action.count, action.prefix);
        this.#land(action.eni, [
          ...got.ips.map((ip) => ({ cidr: `${ip}/32`, prefix: false })),
          ...got.prefixes.map((p) => ({ cidr: p, prefix: true })),
        ]);
        await this.#landFromImds();
        return;
      }
      case 'attach-eni': {
        const plan = allocator.prepareEni(action, {
          subnets: await this.#candidateSubnets(),
          primaryGroups: this.#primaryGroups,
          usedDevices: this.store.eniIds().map((id) => this.store.eni(id)!.deviceNumber),
          nowIso: new Date(this.#now()).toISOString(),
        });
        this.#adoptEni(await allocator.createEni(plan), true);
        await this.#landFromImds();
        return;
      }
      case 'release-ips':
        return this.#releaseCidrs(action.eni, action.cidrs);
      case 'free-eni': {
        // Out of the datastore first, so no pod is handed an address on an ENI being detached.
        if (!this.store.removeEni(action.eni)) return;
        await allocator.freeEni(action.eni, this.#attachments.get(action.eni) ?? '');
        this.#attachments.delete(action.eni);
        this.#lastDecreaseAt = this.#now();
        return;
      }
    }
  }

  async #releaseCidrs(eniId: string, cidrs: readonly string[]): Promise<void> {
    const removed = cidrs.filter((c) => this.store.removeCidr(eniId, c));
    for (const c of removed) this.#inFlight.add(c);
    try {
      await this.#o.allocator.unassign(eniId, removed);
    } catch (error) {
      // EC2 still has them: take them back so the pool's view stays true.
      for (const c of removed) this.store.addCidr(eniId, c, !c.endsWith('/32'));
      throw error;
    } finally {
      for (const c of removed) this.#inFlight.delete(c);
    }
    this.#lastDecreaseAt = this.#now();
  }

  async #candidateSubnets(): Promise<SubnetInfo[]> {
    const now = this.#now();
    if (this.#subnets === undefined || now - this.#subnets.atMs >= SUBNET_CACHE_MS) {
      this.#subnets = { list: await this.#o.allocator.candidateSubnets(), atMs: now };
    }
    return this.#subnets.list;
  }

  #onFailure(action: Action, error: CloudError): void {
    const now = this.#now();
    this.#event('action-failed', `${describe(action)}: ${error.message}`);
    if (error.kind === 'insufficient_cidr' && 'prefix' in action && action.prefix) {
      this.#prefixFallbackUntil = now + INSUFFICIENT_CAPACITY_PAUSE_MS;
      this.#event(
        'prefix-fallback',
        'no free /28 in the subnet (InsufficientCidrBlocks): growing with single addresses',
      );
      return;
    }
    if (error.kind === 'subnet_full' || error.kind === 'insufficient_cidr') {
      this.#growthPausedUntil = now + INSUFFICIENT_CAPACITY_PAUSE_MS;
      const subnetId = this.#subnets?.list[0]?.id ?? 'unknown';
      const free = this.#subnets?.list[0]?.free ?? 0;
      const prefix = error.kind === 'insufficient_cidr';
      this.#cloudFailure = { reason: { code: 'SUBNET_EXHAUSTED', subnetId, free, prefix }, atMs: now };
    } else if (error.kind === 'throttled') {
      const retryInMs = this.#o.api.lastThrottle?.retryInMs ?? 0;
      this.#cloudFailure = { reason: { code: 'EC2_THROTTLED', retryInMs }, atMs: now };
    } else if (error.kind === 'eni_limit' || error.kind === 'ip_limit') {
      // EC2 knows better than our view: re-read it on the next step.
      this.#lastReconcileAt = Number.NEGATIVE_INFINITY;
    } else {
      this.#cloudFailure = { reason: { code: 'EC2_ERROR', errorCode: error.code, message: error.message }, atMs: now };
    }
  }
}

function describe(action: Action): string {
  switch (action.kind) {
    case 'assign-ips':
      return `assign ${action.count} ${action.prefix ? 'prefixes' : 'addresses'} to ${action.eni}`;
    case 'attach-eni':
      return `attach an ENI with ${action.count} ${action.prefix ? 'prefixes' : 'addresses'}`;
    case 'release-ips':
      return `release ${action.cidrs.join(', ')} from ${action.eni}`;
    case 'free-eni':
      return `free ${action.eni}`;
  }
}
