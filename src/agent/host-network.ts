/**
 * The node's host network as the agent keeps it: read the node from IMDS, name its ENIs by MAC from the live links,
 * compile the host plan with every pod IPAM holds, and apply it — all under the namespace's apply lock, which the
 * plugin also takes around its host-side writes, so a pod being wired is never half seen. One sync runs at a time;
 * callers that arrive during one share the next.
 */
import { apply } from '../apply/apply.ts';
import { withApplyLock } from '../apply/lock.ts';
import type { Runner } from '../apply/run.ts';
import { compileHostPlan } from '../compiler/compile.ts';
import type { NodeFacts } from '../compiler/facts.ts';
import { type PodRecord, podAssignments } from '../compiler/pod-assignments.ts';
import type { Config } from '../compiler/settings/index.ts';
import { type ImdsClient, readNodeFacts } from '../ipam/cloud/imds.ts';
import { listLinks, withInterfaceNames } from '../node/host-facts.ts';
import type { Log } from './log.ts';

export interface SyncReport {
  /** ENIs the host now carries (their link named, their table and rules applied). */
  readonly enis: ReadonlySet<string>;
  /** ENIs IMDS lists whose link has not appeared yet (a hot-plug still in progress). */
  readonly pending: readonly string[];
  readonly changes: number;
  readonly facts: NodeFacts;
}

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

  /** Converges the host network now (or right after the sync in progress, whose inputs may predate the caller's). */
  sync(): Promise<SyncReport> {
    if (this.#running === undefined) {
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#queued ??= this.#running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.sync();
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

  async #syncOnce(): Promise<SyncReport> {
    const { runner, log } = this.#o;
    const config = this.#config;
    const facts = await readNodeFacts(this.#o.imds);
    return withApplyLock(
      runner.netns,
      async () => {
        const links = await listLinks(runner);
        const named = withInterfaceNames(facts, links);
        // An ENI without its link yet is left out until it appears; planning it would fail on the missing name.
        const present = { ...named.facts, enis: named.facts.enis.filter((e) => e.interfaceName !== undefined) };
        const linkNames = new Set(links.map((l) => l.ifname));
        const { pods, skipped } = podAssignments(this.#o.pods(), present, config.AWS_VPC_K8S_CNI_VETHPREFIX);
        for (const s of skipped) log.warn(`pod ${s.ip} left out of the host plan: ${s.reason}`);
        // A pod whose veth does not exist yet is being wired by the plugin, which waits for this lock to add its
        // route and rules; one whose veth is gone has been deleted, and its DEL removes what is left.
        const plan = compileHostPlan(
          config,
          present,
          pods.filter((p) => linkNames.has(p.hostVeth)),
        );
        const result = await apply(runner, plan, { progress: (m) => log.debug(`host network: ${m}`) });
        if (result.applied) log.info(`host network: applied ${result.changes.length} changes`);
        const report: SyncReport = {
          enis: new Set(present.enis.map((e) => e.interfaceId)),
          pending: named.unresolved.map((e) => e.interfaceId),
          changes: result.changes.length,
          facts: present,
        };
        this.#last = report;
        return report;
      },
      this.#o.lockDir === undefined ? {} : { dir: this.#o.lockDir },
    );
  }
}
