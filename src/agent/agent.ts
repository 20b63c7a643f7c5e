/**
 * The node agent, in the order the reference's aws-node starts: learn the node from IMDS, build the IPAM engine and
 * start the extensions beside it (metrics, Kubernetes...), start the engine (EC2 view, checkpoint restore), converge
 * the host network with the checkpoint's pods, fill the warm pool, open the socket, and only then install the plugin
 * and its conflist, so the runtime sends pods only to a node that can serve them. Then the loops run (warm pool, EC2
 * reconcile, leaked-ENI sweep, VPC CIDR changes, and whatever an extension registers); after an ENI is attached the
 * host network is converged again before any of its addresses is handed out (ADD waits on it). Extensions add their
 * loops through `view.registerLoop`.
 */

import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { currentNetns, namedNetns, Runner } from '../apply/run.ts';
import type { Config } from '../compiler/settings/index.ts';
import type { EffectiveValue } from '../compiler/settings/parse.ts';
import { ImdsClient, imdsEndpoint, observationsFromImds, readIpamNode } from '../ipam/cloud/imds.ts';
import { realClock } from '../ipam/cloud/rate.ts';
import { LEAK_SWEEP_INTERVAL_MS, RECONCILE_INTERVAL_MS } from '../ipam/engine.ts';
import { createNodeEngine, type NodeEngine } from '../ipam/node-engine.ts';
import { type IpcServer, serve } from '../ipc/server.ts';
import { AgentBus } from './bus.ts';
import { netconfFromConfig } from './conflist.ts';
import { type DriftRepair, type DriftRepairOptions, driftRepair } from './drift.ts';
import { createHandler } from './handlers.ts';
import { HostNetwork } from './host-network.ts';
import { type InstallReport, installCni } from './install-cni.ts';
import { splitChange } from './live-config.ts';
import type { Log } from './log.ts';
import { LoopScheduler, type Timers } from './loops.ts';
import type { PluginExecutableOptions } from './plugin-executable.ts';
import type { AgentExtension, AgentView, NodeDemand, ReconfigureResult } from './view.ts';

/** ipamd's pool loop period. */
export const LOOP_MS = 5_000;
/** How often the VPC's CIDRs are read from IMDS (a CIDR associated with the VPC must reach the SNAT exclusions). */
export const VPC_CIDR_LOOP_MS = 60_000;
/** The first retry of a failed EC2 reconcile. */
const RECONCILE_RETRY_MS = 5_000;
/** How long an ADD waits for the pool to grow; the plugin gives the agent 30 s in all. */
const ADD_WAIT_MS = 15_000;
/** How long an ADD waits for a just-attached ENI to appear on the host. */
const ENI_READY_MS = 10_000;
/** Pool steps at start-up before the socket opens: enough to attach the ENIs a warm target asks for. */
const FILL_STEPS = 8;

/** The loops the agent itself runs; extensions register theirs through `view.registerLoop` under their own names. */
export const LOOPS = {
  warmPool: 'warm-pool',
  reconcile: 'ec2-reconcile',
  leakSweep: 'leaked-eni-sweep',
  vpcCidrs: 'vpc-cidrs',
} as const;

export interface AgentOptions {
  readonly config: Config;
  /** Where each value came from (`vpc-cni config`'s provenance), for the view; default: none known. */
  readonly values?: Readonly<Record<string, EffectiveValue>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The node's host network namespace (tests); undefined = this process's own. */
  readonly netns?: string;
  readonly stateDir: string;
  readonly checkpointPath: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly executable?: PluginExecutableOptions;
  readonly log: Log;
  /** The warm-pool loop's period (default LOOP_MS). */
  readonly loopMs?: number;
  /** The other loops' periods (tests shorten them). */
  readonly periods?: { readonly reconcileMs?: number; readonly leakSweepMs?: number; readonly vpcCidrsMs?: number };
  readonly timers?: Timers;
  readonly lockDir?: string;
  /** Started once the engine exists, in order; stopped in reverse order by `stop()` or a failed start. */
  readonly extensions?: readonly AgentExtension[];
  /** The host-plan drift repair's period and whether it watches kernel events (tests and the bench change them). */
  readonly drift?: DriftRepairOptions;
}

export interface Agent {
  readonly socketPath: string;
  readonly install: InstallReport;
  readonly node: NodeEngine;
  readonly host: HostNetwork;
  /** What happens in the agent, for its logs, metrics and Events. */
  readonly bus: AgentBus;
  readonly view: AgentView;
  /** The host-plan drift repair, always running (its kernel monitors). */
  readonly drift: DriftRepair;
  /** Stops taking work, lets the runs in progress end and closes the socket; the checkpoint is already on disk. */
  stop(): Promise<void>;
}

function eniIds(node: NodeEngine): string {
  return node.engine.store.eniIds().toSorted().join(',');
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const { log } = o;
  const startedAtMs = Date.now();
  const startedAt = performance.now();
  const bus = new AgentBus();
  let phase = 'reading the node from IMDS';
  let ready = false;
  let timeToReadyMs: number | undefined;
  let running = { config: o.config, values: o.values ?? {} };
  let pendingRecycle: readonly string[] = [];
  const config = o.config;

  const imds = new ImdsClient({ endpoint: imdsEndpoint(o.env) });
  const ipamNode = await readIpamNode(imds);
  log.info(
    `node ${ipamNode.facts.instanceId} (${ipamNode.facts.instanceType}, ${ipamNode.facts.availabilityZone}), primary ENI ${ipamNode.primaryEniId}`,
  );
  const runner = new Runner(o.netns === undefined ? currentNetns : namedNetns(o.netns));
  const node = await createNodeEngine({
    config,
    node: ipamNode,
    imds,
    ...(o.env.AWS_ENDPOINT_URL_EC2 ? { ec2Endpoint: o.env.AWS_ENDPOINT_URL_EC2 } : {}),
    // Keys in the given environment win (a test's, an env file's); otherwise the SDK's chain (IRSA, the node role).
    ...(o.env.AWS_ACCESS_KEY_ID && o.env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: o.env.AWS_ACCESS_KEY_ID, secretAccessKey: o.env.AWS_SECRET_ACCESS_KEY } }
      : {}),
    checkpointPath: o.checkpointPath,
    clock: realClock,
    bucket: { ratePerSecond: 20, burst: 40 },
    backoff: { baseMs: 200, maxMs: 20_000 },
    kubernetes: {
      ...(o.env.KUBECONFIG ? { kubeconfigPath: o.env.KUBECONFIG } : {}),
      nodeName: o.env.MY_NODE_NAME ?? '',
    },
    podRoutes: async () => podRoutes(runner, config.AWS_VPC_K8S_CNI_VETHPREFIX),
    ownLoops: true,
    onEc2Call: (call) => bus.publish({ kind: 'ec2-call', ...call }),
  });
  for (const note of node.notes) log.warn(note);
  const { engine } = node;
  const host = new HostNetwork({
    runner,
    config,
    imds,
    pods: () => engine.store.leases(),
    log,
    ...(o.lockDir === undefined ? {} : { lockDir: o.lockDir }),
  });
  const loops = new LoopScheduler({
    ...(o.timers === undefined ? {} : { timers: o.timers }),
    publish: (event) => bus.publish(event),
    onError: (loop, error) => log.error(`loop ${loop}: ${error.message}`),
  });
  // An ADD takes an address and a DEL frees one: the pool is looked at again now rather than up to a period later.
  bus.subscribe((event) => {
    if (event.kind === 'add' || event.kind === 'del') loops.kick(LOOPS.warmPool);
  });

  /** Converges the host when the pool's ENIs changed under `fn` (an ENI attached or freed, or found by reconcile). */
  const withHostFollowing = async <T>(fn: () => Promise<T>): Promise<T> => {
    const before = eniIds(node);
    const result = await fn();
    if (eniIds(node) !== before) await host.sync();
    return result;
  };

  // One reconfiguration at a time, so two ConfigMap updates in a row apply in order.
  let reconfiguring: Promise<unknown> = Promise.resolve();
  const reconfigure = (requested: Config, values: Readonly<Record<string, EffectiveValue>>) => {
    const next = reconfiguring.then(async (): Promise<ReconfigureResult> => {
      const change = splitChange(running.config, running.values, requested, values);
      const pendingBefore = pendingRecycle;
      running = { config: change.next, values: change.values };
      pendingRecycle = change.pendingRecycle;
      if (change.via.has('pool')) {
        const { policy, notes } = node.policyFor(change.next);
        for (const note of notes) log.warn(note);
        engine.reconfigure(policy, change.next.IP_COOLDOWN_PERIOD * 1000);
        loops.kick(LOOPS.warmPool);
      }
      if (change.applied.length > 0 || !isDeepStrictEqual(pendingBefore, pendingRecycle)) {
        log.info(
          `configuration: applied ${change.applied.join(', ') || 'nothing'}; pending a node recycle: ${pendingRecycle.join(', ') || 'nothing'}`,
        );
        bus.publish({ kind: 'config-changed', applied: change.applied, pendingRecycle });
      }
      // The host plan is re-planned with the new SNAT/connmark settings and only the diff applied. The new config is
      // in effect already when this fails: every later sync (ENI changes, drift repair) applies it, and the caller
      // hears why this one did not.
      if (change.via.has('host')) {
        host.setConfig(change.next);
        await host.sync();
      }
      return { applied: change.applied, pendingRecycle };
    });
    reconfiguring = next.catch(() => undefined);
    return next;
  };

  const view: AgentView = {
    nodeName: o.env.MY_NODE_NAME ?? '',
    instanceId: ipamNode.facts.instanceId,
    instanceType: ipamNode.facts.instanceType,
    startedAtMs,
    readiness: () => ({ ready, reason: ready ? 'serving' : phase }),
    timeToReadyMs: () => timeToReadyMs,
    eniConfig: () => node.allocator.eniConfig,
    config: () => running.config,
    values: () => running.values,
    engine,
    host,
    loops: () => loops.statuses(),
    pendingRecycle: () => pendingRecycle,
    bus,
    reconfigure,
    setDemand(demand: NodeDemand) {
      const before = engine.state.demand;
      engine.setDemand({ cordoned: demand.cordoned, expectedPods: demand.pendingPods });
      if (!isDeepStrictEqual(before, engine.state.demand)) loops.kick(LOOPS.warmPool);
    },
    registerLoop: (name, periodMs, fn, options) => loops.register(name, periodMs, fn, options),
    kickLoop: (name) => loops.kick(name),
  };

  const drift = driftRepair({ log, ...o.drift });
  const started: Array<{ name: string; stop(): Promise<void> }> = [];
  const stopExtensions = async () => {
    for (const ext of started.toReversed()) {
      try {
        await ext.stop();
      } catch (error) {
        log.error(`extension ${ext.name} failed to stop: ${(error as Error).message}`);
      }
    }
    started.length = 0;
  };
  let server: IpcServer | undefined;
  try {
    for (const extension of [drift, ...(o.extensions ?? [])]) {
      phase = `starting ${extension.name}`;
      const handle = await extension.start(view);
      started.push({ name: extension.name, stop: () => handle.stop() });
    }

    // A restart with pods in a valid checkpoint serves them on IMDS's word before EC2 answers (a throttled or slow
    // EC2 must not keep running pods from being deleted or checked, nor the node NotReady); the first EC2 reconcile
    // follows at once on its loop. A fresh node, or a checkpoint IMDS does not account for, starts from EC2.
    phase = 'restoring the IPAM checkpoint';
    const restart = await engine.startLocal(observationsFromImds(ipamNode.facts));
    const local = restart.local;
    if (!restart.local) {
      log.info(`IPAM: starting from EC2: ${restart.why}`);
      phase = 'reconciling with EC2 and restoring the IPAM checkpoint';
      await engine.start();
    }
    log.info(
      `IPAM: ${engine.store.leases().length} pods restored from ${o.checkpointPath}${local ? ' on the ENIs IMDS lists (EC2 confirms next)' : ''}`,
    );

    phase = 'converging the host network';
    await host.sync();

    phase = 'filling the warm pool';
    for (let i = 0; i < FILL_STEPS && !local; i++) {
      const done = await withHostFollowing(() => engine.step());
      if (done.length === 0) break;
    }

    const socketPath = join(o.stateDir, 'agent.sock');
    server = await serve(
      socketPath,
      createHandler({
        engine,
        vpcCidrs: () => host.last?.facts.enis[0]?.vpcCidrs ?? [],
        vethPrefix: config.AWS_VPC_K8S_CNI_VETHPREFIX,
        addWaitMs: ADD_WAIT_MS,
        status: () => ({ ready, message: ready ? 'serving' : phase }),
        eniReady: (eniId) => host.eniReady(eniId, ENI_READY_MS),
        publish: (event) => bus.publish(event),
      }),
    );
    phase = 'installing the CNI plugin';
    const install = await installCni({
      binDir: o.cniBinDir,
      confDir: o.cniConfDir,
      socketPath,
      netconf: netconfFromConfig(config),
      ...(o.executable === undefined ? {} : { executable: o.executable }),
    });
    ready = true;
    timeToReadyMs = performance.now() - startedAt;
    bus.publish({ kind: 'ready', timeToReadyMs });
    log.info(
      `ready: serving ${socketPath} ${Math.round(timeToReadyMs)} ms after start; plugin ${install.plugin.path}, conflist ${install.conflist.path}`,
    );

    registerLoops(o, { node, host, loops, log, withHostFollowing, view, primaryMac: ipamNode.facts.primaryMac, imds });
    if (local) loops.kick(LOOPS.reconcile);
    const open = server;
    let stopping: Promise<void> | undefined;
    const stop = async () => {
      ready = false;
      phase = 'stopping';
      // No new ENI from here on, even for an ADD still waiting; then the loops and the socket end, and the
      // checkpoint is written once more after the last request.
      await engine.stop();
      await loops.stop();
      await open.close();
      await engine.pool.persist();
      await stopExtensions();
      node.api.close();
      log.info('stopped');
    };
    return {
      socketPath,
      install,
      node,
      host,
      bus,
      view,
      drift,
      /** Idempotent: a second call waits for the first. */
      stop() {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await loops.stop();
    await server?.close();
    await stopExtensions();
    node.api.close();
    throw error;
  }
}

interface LoopDeps {
  readonly node: NodeEngine;
  readonly host: HostNetwork;
  readonly loops: LoopScheduler;
  readonly log: Log;
  readonly view: AgentView;
  readonly withHostFollowing: <T>(fn: () => Promise<T>) => Promise<T>;
  readonly primaryMac: string;
  readonly imds: ImdsClient;
}

function registerLoops(o: AgentOptions, d: LoopDeps): void {
  const { engine } = d.node;
  d.loops.register(LOOPS.warmPool, o.loopMs ?? LOOP_MS, async () => {
    const done = await d.withHostFollowing(() => engine.step());
    for (const action of done) d.log.info(`IPAM: ${action.kind}`);
  });
  const reconcileMs = o.periods?.reconcileMs ?? RECONCILE_INTERVAL_MS;
  d.loops.register(
    LOOPS.reconcile,
    reconcileMs,
    async () => {
      const confirmed = engine.ec2Confirmed;
      const changes = await d.withHostFollowing(() => engine.reconcileNow());
      if (changes.length > 0) d.log.info(`EC2 reconcile: ${changes.length} changes`);
      if (!confirmed) {
        // The view restored from IMDS is EC2's now: the pool may grow and shrink from here on.
        d.log.info('EC2 confirmed the restored ENIs; the warm pool runs');
        d.loops.kick(LOOPS.warmPool);
      }
    },
    // A failed reconcile leaves the pool deciding on an old view (after a restart, on none: it cannot grow): retry in
    // seconds, not a period later.
    { retryMs: Math.min(RECONCILE_RETRY_MS, reconcileMs) },
  );
  d.loops.register(LOOPS.leakSweep, o.periods?.leakSweepMs ?? LEAK_SWEEP_INTERVAL_MS, async () => {
    // Read each run: DISABLE_LEAKED_ENI_CLEANUP may change live.
    if (d.view.config().DISABLE_LEAKED_ENI_CLEANUP) return;
    const deleted = await engine.sweepLeakedNow();
    if (deleted.length > 0) d.log.info(`deleted leaked ENIs: ${deleted.join(', ')}`);
  });
  d.loops.register(LOOPS.vpcCidrs, o.periods?.vpcCidrsMs ?? VPC_CIDR_LOOP_MS, async () => {
    const cidrs = (await d.imds.get(`network/interfaces/macs/${d.primaryMac}/vpc-ipv4-cidr-blocks`))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    const known = d.host.last?.facts.enis.find((e) => e.mac === d.primaryMac)?.vpcCidrs ?? [];
    if (isDeepStrictEqual(cidrs.toSorted(), known.toSorted())) return;
    // The host plan reads the VPC CIDRs from IMDS on each sync: the SNAT exclusions follow.
    d.log.info(`VPC CIDRs changed: ${known.join(',') || 'none'} → ${cidrs.join(',')}; re-syncing the host network`);
    await d.host.sync();
  });
}

/** /32 routes to pod veths in the main table: the owners to recover when the checkpoint is refused. */
async function podRoutes(runner: Runner, vethPrefix: string): Promise<Array<{ ip: string; dev: string }>> {
  const { stdout } = await runner.ip(['-json', '-4', 'route', 'show', 'table', 'main', 'scope', 'link']);
  const routes = JSON.parse(stdout || '[]') as Array<{ dst?: unknown; dev?: unknown }>;
  return routes.flatMap((r) =>
    typeof r.dst === 'string' && typeof r.dev === 'string' && r.dev.startsWith(vethPrefix) && !r.dst.includes('/')
      ? [{ ip: r.dst, dev: r.dev }]
      : [],
  );
}
