/**
 * The IPAM engine: one pool per node. `start()` learns the node's ENIs from EC2 and restores the checkpoint (or
 * recovers from EC2 and the kernel when it is refused); `step()` is one loop iteration (reconcile when due, then
 * snapshot → policy.decide → EC2 → datastore); `assign`/`release` serve CNI ADD/DEL. Time comes from an injected
 * clock, so tests and `vpc-cni simulate` drive the loop step by step.
 */

import { ipv4CidrAddresses } from '../lib/address.ts';
import type { ShortageReason } from '../lib/shortage.ts';
import { CheckpointError, readCheckpoint, setAside } from './checkpoint.ts';
import type { Ec2Api } from './cloud/client.ts';
import type { Ec2Allocator, EniObservation } from './cloud/ec2.ts';
import { classify } from './cloud/errors.ts';
import type { ImdsClient } from './cloud/imds.ts';
import type { Clock } from './cloud/rate.ts';
import type { SubnetInfo } from './cloud/subnets.ts';
import { Datastore, type Lease, type Owner, type OwnerMetadata, ownerKey, RECOVERED_NETWORK } from './datastore.ts';
import { type EngineEvent, EventSink } from './events.ts';
import { decide } from './policy/decide.ts';
import {
  afterAction,
  afterFailure,
  awaitImds,
  currentFailure,
  describeAction,
  type EngineState,
  initialState,
  type LandingCidr,
  landFromImds,
  poolFacts,
  reconcileDue,
  sweepDue,
  withHandle,
  withWaiting,
  worthWaiting,
} from './policy/loop.ts';
import { shortageReason } from './policy/shortage.ts';
import type { Action, PoolSnapshot, WarmPoolPolicy } from './policy/types.ts';
import { AddressPool } from './pool.ts';
import { type HeldEni, observedCidrs, type ReconcileChange, reconcile } from './reconcile.ts';

export type { EngineEvent } from './events.ts';
export {
  INSUFFICIENT_CAPACITY_PAUSE_MS,
  LEAK_SWEEP_INTERVAL_MS,
  RECONCILE_INTERVAL_MS,
} from './policy/loop.ts';

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
  /** Sweep leaked ENIs hourly inside `step` (off with DISABLE_LEAKED_ENI_CLEANUP, or when the caller sweeps itself). */
  readonly leakSweep?: boolean;
  /**
   * Reconcile with EC2 inside `step` when due (default true). The agent turns it off and reconciles on its own loop,
   * so a failing EC2 backs that loop off instead of being retried by every pool step.
   */
  readonly reconcileInStep?: boolean;
  /** Pod addresses the kernel routes to pod veths; used only when the checkpoint is refused. */
  readonly podRoutes?: () => Promise<ReadonlyArray<{ readonly ip: string; readonly dev: string }>>;
  /** Events kept for `events.recent()` (default 512); counts per kind are kept for ever. */
  readonly eventCapacity?: number;
}

export interface AssignOptions {
  /**
   * Wait up to this long (on the engine's clock) for an address while the pool can still grow, stepping the pool
   * every `stepEveryMs`; a shortage that will not pass (ENI_LIMIT, MAX_PODS, ...) answers at once.
   */
  readonly waitMs?: number;
  /** Default: 1 s. */
  readonly stepEveryMs?: number;
}

export type AssignResult =
  | { readonly ok: true; readonly lease: Lease }
  | { readonly ok: false; readonly reason: ShortageReason };

export class IpamEngine {
  readonly store: Datastore;
  readonly pool: AddressPool;
  /** What happened, for logs, metrics and pod Events (bounded); the engine never decides silently. */
  readonly events: EventSink;
  readonly #o: EngineOptions;
  /** Everything the engine decides on besides the datastore, as one value changed only by policy/loop.ts folds. */
  #state: EngineState = initialState;
  /** CIDRs being given back right now, so a concurrent reconcile does not re-adopt them; lives for one EC2 call. */
  readonly #inFlight = new Set<string>();
  /** A cache of EC2's subnet view, not a decision. */
  #subnets: { list: SubnetInfo[]; atMs: number } | undefined;
  /** The step in progress: concurrent callers share it, so two steps never decide on the same snapshot. */
  #stepping: Promise<Action[]> | undefined;
  #pausing: Promise<void> | undefined;
  #ec2Confirmed = true;
  #stopping = false;
  /** Swapped whole by a live configuration change; each step decides on the one current when it starts. */
  #policy: WarmPoolPolicy;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#policy = options.policy;
    this.events = new EventSink(options.eventCapacity);
    this.store = new Datastore(options.cooldownMs);
    this.pool = new AddressPool(this.store, options.checkpointPath);
  }

  get policy(): WarmPoolPolicy {
    return this.#policy;
  }

  /** New warm targets (or cooldown), live: the next step decides with them; nothing held is given back at once. */
  reconfigure(policy: WarmPoolPolicy, cooldownMs: number): void {
    this.#policy = policy;
    this.store.setCooldown(cooldownMs);
  }

  /** What the Kubernetes side knows of the node's demand; the next step decides with it. */
  setDemand(demand: { readonly cordoned: boolean; readonly expectedPods: number }): void {
    this.#state = {
      ...this.#state,
      demand: { cordoned: demand.cordoned, expectedPods: Math.max(demand.expectedPods, 0) },
    };
  }

  #now(): number {
    return this.#o.clock.now();
  }

  #event(kind: EngineEvent['kind'], message: string): void {
    this.events.emit({ atMs: this.#now(), kind, message });
  }

  /** Learns the ENIs from EC2, then restores the checkpoint (or recovers), then persists the result. */
  async start(): Promise<void> {
    const observed = await this.#o.allocator.describeNode();
    this.#confirm(observed);
    this.#applyReconcile(reconcile([], observed));
    this.#state = { ...this.#state, lastReconcileAt: this.#now() };
    try {
      this.#restore(await readCheckpoint(this.#o.checkpointPath), 'checkpoint');
    } catch (error) {
      if (!(error instanceof CheckpointError)) throw error;
      await this.#recover(error);
    }
    await this.pool.persist();
    this.#state = { ...this.#state, ready: true };
  }

  /**
   * Restarts without EC2: the ENIs as IMDS lists them (`observed`, from `observationsFromImds`) and the checkpoint's
   * owners on them, so existing pods are served (DEL, CHECK, an ADD on a free address IMDS lists) before the first
   * EC2 call returns. Only when the checkpoint is valid, holds pods and every one of its addresses is on an ENI IMDS
   * lists; otherwise nothing changes and it says why not (`start()` then does the EC2-first start, which can recover
   * or quarantine). Until `reconcileNow()` has seen EC2 once, `step()` decides nothing: no ENI is attached, no
   * address bought or given back on a view EC2 has not confirmed.
   */
  async startLocal(
    observed: readonly EniObservation[],
  ): Promise<{ readonly local: true } | { readonly local: false; readonly why: string }> {
    let entries: Awaited<ReturnType<typeof readCheckpoint>>;
    try {
      entries = await readCheckpoint(this.#o.checkpointPath);
    } catch (error) {
      if (error instanceof CheckpointError) return { local: false, why: 'the checkpoint is refused' };
      throw error;
    }
    if (entries.length === 0) return { local: false, why: 'no pods in the checkpoint' };
    const held = new Set(observed.flatMap((e) => observedCidrs(e).flatMap((c) => ipv4CidrAddresses(c.cidr))));
    const unlisted = entries.filter((e) => !held.has(e.ip)).map((e) => e.ip);
    if (unlisted.length > 0) return { local: false, why: `IMDS does not list ${unlisted.slice(0, 5).join(', ')}` };
    if (!observed.some((e) => e.id === this.#o.primaryEniId))
      return { local: false, why: 'IMDS lacks the primary ENI' };
    this.#ec2Confirmed = false;
    this.#applyReconcile(reconcile([], observed));
    this.#restore(entries, 'checkpoint');
    await this.pool.persist();
    this.#state = { ...this.#state, ready: true };
    return { local: true };
  }

  /** Whether EC2 has been read since start (always, after `start()`; after `startLocal`, once a reconcile succeeded). */
  get ec2Confirmed(): boolean {
    return this.#ec2Confirmed;
  }

  /** What only EC2 knows of the node's ENIs: the primary's security groups (for new ENIs) and each attachment id. */
  #confirm(observed: readonly EniObservation[]): void {
    const primary = observed.find((e) => e.id === this.#o.primaryEniId);
    if (primary === undefined) throw new Error(`primary ENI ${this.#o.primaryEniId} is not attached according to EC2`);
    this.#state = { ...this.#state, primaryGroups: primary.securityGroups };
    for (const eni of observed) {
      if (this.store.eni(eni.id) !== undefined) {
        this.#state = withHandle(this.#state, eni.id, { attachmentId: eni.attachmentId, mac: eni.mac });
      }
    }
    this.#ec2Confirmed = true;
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

  /**
   * CNI ADD: an address now, or the reason there is none (and the pod counts as waiting for the next step). With
   * `waitMs`, a pool that can still grow is stepped until an address is free or the time is up.
   */
  async assign(owner: Owner, metadata: OwnerMetadata = {}, options: AssignOptions = {}): Promise<AssignResult> {
    const deadline = this.#now() + (options.waitMs ?? 0);
    let result = await this.#assignOnce(owner, metadata);
    while (!result.ok && worthWaiting(result.reason) && this.#now() < deadline) {
      await this.step();
      result = await this.#assignOnce(owner, metadata);
      if (result.ok || !worthWaiting(result.reason) || this.#now() >= deadline) break;
      await this.#pause(Math.min(options.stepEveryMs ?? 1_000, deadline - this.#now()));
    }
    return result;
  }

  /** Waiting ADDs share one pause as they share one step: fifty waiters do not make the loop fifty times faster. */
  #pause(ms: number): Promise<void> {
    this.#pausing ??= this.#o.clock.sleep(ms).finally(() => {
      this.#pausing = undefined;
    });
    return this.#pausing;
  }

  async #assignOnce(owner: Owner, metadata: OwnerMetadata): Promise<AssignResult> {
    if (!this.#state.ready) return { ok: false, reason: { code: 'NOT_READY', phase: 'starting' } };
    const key = ownerKey(owner);
    const lease = await this.pool.assign(owner, metadata, this.#now());
    this.#state = withWaiting(this.#state, key, lease === undefined);
    if (lease !== undefined) return { ok: true, lease };
    return {
      ok: false,
      reason: shortageReason(this.snapshot(), this.#policy, {
        nextFreeInMs: this.store.nextFreeInMs(this.#now()),
        cloudFailure: currentFailure(this.#state, this.#now()),
      }),
    };
  }

  /** CNI DEL: idempotent; `ip` lets a DEL release an owner recovered without a checkpoint. */
  async release(owner: Owner, ip?: string): Promise<Lease | undefined> {
    this.#state = withWaiting(this.#state, ownerKey(owner), false);
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
    return this.store.snapshot(now, poolFacts(this.#state, now));
  }

  /** The engine's decision state (read-only), for diagnostics. */
  get state(): EngineState {
    return this.#state;
  }

  /**
   * One loop iteration: refresh the EC2 view when due, then snapshot → decide → execute → fold. Returns the actions
   * carried out (failed ones are in `events`). Concurrent calls share one iteration.
   */
  step(): Promise<Action[]> {
    this.#stepping ??= this.#step().finally(() => {
      this.#stepping = undefined;
    });
    return this.#stepping;
  }

  /**
   * Shutting down (SIGTERM): no step decides anything from now on (no ENI attached, no address bought or given back,
   * even for an ADD still waiting), the step in progress ends, and the checkpoint is written once more. ADD and DEL
   * on the addresses held still work, so a DEL racing the shutdown is not lost.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#stepping?.catch(() => undefined);
    await this.pool.persist();
  }

  async #step(): Promise<Action[]> {
    if (!this.#ec2Confirmed || this.#stopping) return [];
    try {
      if ((this.#o.reconcileInStep ?? true) && reconcileDue(this.#state, this.#now())) await this.reconcileNow();
      await this.#o.allocator.retryPendingDeletes();
      await this.#sweepWhenDue();
    } catch (error) {
      // Without a fresh EC2 view the pool keeps deciding on the last one; the next step tries again.
      this.#event('action-failed', `reconcile: ${(error as Error).message}`);
    }
    await this.#landFromImds();
    const now = this.#now();
    const actions = decide(this.#state, this.store.snapshot(now, poolFacts(this.#state, now)), now, this.#policy);
    const done: Action[] = [];
    for (const action of actions) {
      try {
        await this.#execute(action);
        this.#state = afterAction(this.#state, action, this.#now());
        this.#event('action', `${describeAction(action)} (${action.reason})`);
        done.push(action);
      } catch (error) {
        const subnet = this.#subnets?.list[0];
        const retryInMs = this.#o.api.lastThrottle?.retryInMs;
        const outcome = afterFailure(this.#state, action, classify(error, action.kind), this.#now(), {
          ...(subnet !== undefined ? { subnet } : {}),
          ...(retryInMs !== undefined ? { retryInMs } : {}),
        });
        this.#state = outcome.state;
        for (const e of outcome.events) this.#event(e.kind, e.message);
        break;
      }
    }
    return done;
  }

  async #sweepWhenDue(): Promise<void> {
    if (!this.#o.leakSweep) return;
    const now = this.#now();
    const { due, state } = sweepDue(this.#state, now);
    this.#state = state;
    if (!due) return;
    await this.sweepLeakedNow();
  }

  /** Deletes this node's leaked ENIs (tagged by us, detached, old enough); returns their ids. */
  async sweepLeakedNow(): Promise<string[]> {
    const deleted = await this.#o.allocator.sweepLeaked(this.#now());
    if (deleted.length > 0) this.#event('note', `deleted leaked ENIs: ${deleted.join(', ')}`);
    return deleted;
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
      ipam_events_total: this.events.total,
      ipam_events_dropped: this.events.dropped,
      ipam_action_failures_total: this.events.count('action-failed'),
      ipam_event_listener_failures_total: this.events.listenerFailures,
    };
  }

  async reconcileNow(): Promise<ReconcileChange[]> {
    const observed = await this.#o.allocator.describeNode();
    if (!this.#ec2Confirmed) this.#confirm(observed);
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
    this.#state = { ...this.#state, lastReconcileAt: this.#now() };
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
          this.#state = withHandle(this.#state, change.eniId, undefined);
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
    this.#state = withHandle(this.#state, eni.id, { attachmentId: eni.attachmentId, mac: eni.mac });
    if (viaImds) this.#land(eni.id, observedCidrs(eni));
    else for (const c of observedCidrs(eni)) this.store.addCidr(eni.id, c.cidr, c.prefix);
  }

  /** Adds CIDRs EC2 just assigned, through the IMDS wait when an IMDS client is configured. */
  #land(eniId: string, cidrs: readonly LandingCidr[]): void {
    if (this.#o.imds === undefined) {
      for (const c of cidrs) this.store.addCidr(eniId, c.cidr, c.prefix);
      return;
    }
    this.#state = awaitImds(this.#state, eniId, cidrs, this.#now());
  }

  /** One IMDS look per waiting ENI: adds what IMDS shows; past the bound, adds the rest anyway and says so. */
  async #landFromImds(): Promise<void> {
    const imds = this.#o.imds;
    if (imds === undefined) return;
    for (const eniId of [...this.#state.awaitingImds.keys()]) {
      const base = `network/interfaces/macs/${this.#state.handles.get(eniId)?.mac ?? ''}`;
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
      const landed = landFromImds(this.#state, eniId, visible, this.#now(), this.#o.imdsMaxWaitMs ?? 30_000);
      this.#state = landed.state;
      for (const c of landed.landing) this.store.addCidr(eniId, c.cidr, c.prefix);
      if (landed.unconfirmed) this.#event('note', `IMDS still lacks addresses of ${eniId}; using EC2's word for them`);
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
          primaryGroups: this.#state.primaryGroups,
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
        await allocator.freeEni(action.eni, this.#state.handles.get(action.eni)?.attachmentId ?? '');
        this.#state = withHandle(this.#state, action.eni, undefined);
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
  }

  async #candidateSubnets(): Promise<SubnetInfo[]> {
    const now = this.#now();
    if (this.#subnets === undefined || now - this.#subnets.atMs >= SUBNET_CACHE_MS) {
      this.#subnets = { list: await this.#o.allocator.candidateSubnets(), atMs: now };
    }
    return this.#subnets.list;
  }
}
