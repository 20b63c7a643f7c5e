/**
 * The node's host network as the agent keeps it: read the node from IMDS, name its ENIs by MAC from the live links,
 * compile the host plan with every pod IPAM holds, and apply it — all under the namespace's apply lock, which the
 * plugin also takes around its host-side writes, so a pod being wired is never half seen. One sync runs at a time;
 * callers that arrive during one share the next.
 */
import { apply } from '../apply/apply.ts';
import type { ChangeSet } from '../apply/diff.ts';
import { withApplyLock } from '../apply/lock.ts';
import type { Runner } from '../apply/run.ts';
import { compileHostPlan } from '../compiler/compile.ts';
import type { IptablesMode, NodeFacts } from '../compiler/facts.ts';
import type { HostPlan } from '../compiler/plan.ts';
import { type PodRecord, podAssignments } from '../compiler/pod-assignments.ts';
import type { Config } from '../compiler/settings/index.ts';
import { type ImdsClient, readNodeFacts } from '../ipam/cloud/imds.ts';
import { detectIptablesMode, listLinks, withInterfaceNames } from '../node/host-facts.ts';
import type { Log } from './log.ts';

export interface SyncReport {
  /** ENIs the host now carries (their link named, their table and rules applied). */
  readonly enis: ReadonlySet<string>;
  /** ENIs IMDS lists whose link has not appeared yet (a hot-plug still in progress). */
  readonly pending: readonly string[];
  readonly changes: number;
  readonly facts: NodeFacts;
  /** The changes this sync applied, object by object (empty when the host already matched). */
  readonly applied: ChangeSet;
  /** The plan this sync converged the host to. */
  readonly plan: HostPlan;
  /** The plan the sync before converged to (undefined for the first): a change to one of its objects is drift. */
  readonly previousPlan: HostPlan | undefined;
  /** When this sync began (performance.now()): what it found had drifted by then. */
  readonly startedAt: number;
}

export interface SyncOptions {
  /**
   * Plan with the node as IMDS last described it rather than asking again (the live links are read either way) unless
   * that misses an address IPAM handed out since: the drift repair's re-plans, where a dozen IMDS requests each would
   * compete with ADDs. ENIs come and go through the pool loop, whose syncs read IMDS afresh.
   */
  readonly reuseFacts?: boolean;
  /**
   * Refuse (IncompletePlanError, nothing applied) when IMDS does not show an address IPAM has handed to a pod: a plan
   * without that pod would take its route and rules away. The drift repair asks this; the other callers converge
   * with what they know, as before.
   */
  readonly everyPod?: boolean;
}

/** The pods IPAM holds that no ENI holds as IMDS shows the node (it lags EC2 by seconds for new addresses). */
export class IncompletePlanError extends Error {
  override readonly name = 'IncompletePlanError';
  readonly ips: readonly string[];
  constructor(ips: readonly string[]) {
    super(
      `not re-planned: IMDS does not show ${ips.join(', ')} on any ENI yet, and a plan without ${ips.length === 1 ? 'that pod' : 'those pods'} would unwire ${ips.length === 1 ? 'it' : 'them'}`,
    );
    this.ips = ips;
  }
}

/** The reason podAssignments gives for an address no ENI holds. */
const UNHELD = /^no ENI /;

export interface HostNetworkOptions {
  readonly runner: Runner;
  readonly config: Config;
  readonly imds: ImdsClient;
  /** The pods IPAM holds right now. */
  readonly pods: () => readonly PodRecord[];
  readonly log: Log;
  readonly lockDir?: string;
}

export class HostNetwork {
  readonly #o: HostNetworkOptions;
  /** Replaced by a live configuration change (SNAT, connmark...); the next sync plans with it. */
  #config: Config;
  #last: SyncReport | undefined;
  #running: Promise<SyncReport> | undefined;
  #queued: Promise<SyncReport> | undefined;
  /** What the callers sharing the queued sync need: IMDS read afresh if one does, every pod only if all do. */
  #queuedOptions: Required<SyncOptions> | undefined;
  #imdsFacts: NodeFacts | undefined;
  readonly #listeners = new Set<(report: SyncReport) => void>();

  constructor(options: HostNetworkOptions) {
    this.#o = options;
    this.#config = options.config;
  }

  get config(): Config {
    return this.#config;
  }

  /** Plans with `config` from the next sync on; only what the change touches is in that sync's diff. */
  setConfig(config: Config): void {
    this.#config = config;
  }

  get last(): SyncReport | undefined {
    return this.#last;
  }

  /**
   * Calls `listener` with the report of every sync that converged the host, whoever asked for it (the drift repair
   * says what any of them put back). Returns the unsubscribe function.
   */
  onSynced(listener: (report: SyncReport) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The node's namespace, for what watches it (the drift repair's kernel monitors). */
  get runner(): Runner {
    return this.#o.runner;
  }

  /** Converges the host network now (or right after the sync in progress, whose inputs may predate the caller's). */
  sync(options: SyncOptions = {}): Promise<SyncReport> {
    const wanted = { reuseFacts: options.reuseFacts === true, everyPod: options.everyPod === true };
    if (this.#running === undefined) {
      this.#running = this.#syncOnce(wanted).finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    const queued = this.#queuedOptions;
    this.#queuedOptions =
      queued === undefined
        ? wanted
        : { reuseFacts: queued.reuseFacts && wanted.reuseFacts, everyPod: queued.everyPod && wanted.everyPod };
    this.#queued ??= this.#running
      .catch(() => undefined)
      .then(() => {
        const merged = this.#queuedOptions;
        this.#queued = undefined;
        this.#queuedOptions = undefined;
        return this.sync(merged);
      });
    return this.#queued;
  }

  /** Resolves once the host carries `eniId`, syncing until its link appears or `timeoutMs` passes. */
  async eniReady(eniId: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.#last?.enis.has(eniId)) return;
      const report = await this.sync();
      if (report.enis.has(eniId)) return;
      if (Date.now() >= deadline) {
        const why = report.pending.includes(eniId)
          ? 'its link has not appeared in the node (hot-plug pending)'
          : 'IMDS does not list it';
        throw new Error(`ENI ${eniId} is not ready on the host after ${timeoutMs} ms: ${why}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /**
   * The node's iptables backend, which IMDS cannot know: detected once as the reference does (`iptables --version`),
   * so VPC_CNI_IPTABLES_MODE=auto plans the connmark rules where the node's own iptables writes them (legacy on
   * Amazon Linux 2).
   */
  #detectedMode: Promise<IptablesMode> | undefined;
  #iptablesMode(): Promise<IptablesMode> {
    this.#detectedMode ??= detectIptablesMode(this.#o.runner);
    return this.#detectedMode;
  }

  async #syncOnce(options: Required<SyncOptions>): Promise<SyncReport> {
    const { runner, log } = this.#o;
    const config = this.#config;
    const startedAt = performance.now();
    // Remembered facts that miss an address IPAM handed out since are stale: ask IMDS after all (before taking the
    // lock, which the plugin's wiring waits for).
    const cached = options.reuseFacts ? this.#imdsFacts : undefined;
    const stale =
      cached === undefined ||
      podAssignments(this.#o.pods(), cached, config.AWS_VPC_K8S_CNI_VETHPREFIX).skipped.some((s) =>
        UNHELD.test(s.reason),
      );
    const facts = stale ? { ...(await readNodeFacts(this.#o.imds)), iptablesMode: await this.#iptablesMode() } : cached;
    this.#imdsFacts = facts;
    return withApplyLock(
      runner.netns,
      async () => {
        const links = await listLinks(runner);
        const named = withInterfaceNames(facts, links);
        // An ENI without its link yet is left out until it appears; planning it would fail on the missing name.
        const present = { ...named.facts, enis: named.facts.enis.filter((e) => e.interfaceName !== undefined) };
        const { pods, skipped } = podAssignments(this.#o.pods(), present, config.AWS_VPC_K8S_CNI_VETHPREFIX);
        const unheld = skipped.filter((s) => UNHELD.test(s.reason));
        if (options.everyPod && unheld.length > 0) throw new IncompletePlanError(unheld.map((s) => s.ip));
        const wired = new Set(links.filter((l) => l.up).map((l) => l.ifname));
        for (const s of skipped) log.warn(`pod ${s.ip} left out of the host plan: ${s.reason}`);
        // A pod whose host veth is missing or still down is being wired by the plugin: it makes the pair first and
        // brings the host end up in the batch that adds the route and rules, which waits for this lock. One whose veth
        // is gone has been deleted, and its DEL removes what is left.
        const plan = compileHostPlan(
          config,
          present,
          pods.filter((p) => wired.has(p.hostVeth)),
        );
        const result = await apply(runner, plan, { progress: (m) => log.debug(`host network: ${m}`) });
        if (result.applied) log.info(`host network: applied ${result.changes.length} changes`);
        const report: SyncReport = {
          enis: new Set(present.enis.map((e) => e.interfaceId)),
          pending: named.unresolved.map((e) => e.interfaceId),
          changes: result.changes.length,
          facts: present,
          applied: result.changes,
          plan,
          previousPlan: this.#last?.plan,
          startedAt,
        };
        this.#last = report;
        for (const listener of this.#listeners) {
          try {
            listener(report);
          } catch (error) {
            log.error(`host network: a sync listener failed: ${(error as Error).message}`);
          }
        }
        return report;
      },
      this.#o.lockDir === undefined ? {} : { dir: this.#o.lockDir },
    );
  }
}
