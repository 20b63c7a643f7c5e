/**
 * Runs the real engine against the built-in simulators on virtual time: a node with its primary ENI, pods added one
 * at a time (each as soon as an address is free), then the pool settles. Used by `vpc-cni simulate`, the worked-table
 * tests and the benchmark. EC2 is real HTTP through the SDK; only the loop's clock is virtual, so a 5 s cycle costs
 * nothing. `latencyMs` optionally charges modelled EC2 latency to that clock (the benchmark's realistic latencies).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../compiler/settings/index.ts';
import { ImdsClient, readIpamNode } from '../ipam/cloud/imds.ts';
import type { Clock } from '../ipam/cloud/rate.ts';
import type { Owner } from '../ipam/datastore.ts';
import type { EngineOptions } from '../ipam/engine.ts';
import { createNodeEngine, type NodeEngine } from '../ipam/node-engine.ts';
import type { WarmPoolPolicy } from '../ipam/policy/types.ts';
import { formatReason, type ShortageReason } from '../lib/shortage.ts';
import { type SimulatorOptions, type Simulators, startSimulators } from '../sim/index.ts';

/** ipamd's pool loop period. */
export const LOOP_MS = 5_000;

export class VirtualClock implements Clock {
  #t: number;
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#t = startMs;
  }
  now(): number {
    return this.#t;
  }
  sleep(ms: number): Promise<void> {
    this.#t += Math.max(ms, 0);
    return Promise.resolve();
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}

export interface NodeOptions {
  readonly instanceType: string;
  readonly config: Config;
  readonly mode?: WarmPoolPolicy['mode'];
  /** Default: what `vpc-cni max-pods` prints for the instance and settings (`nodeMaxPods`). */
  readonly maxPods?: number;
  readonly sim?: Omit<SimulatorOptions, 'instanceType'>;
  /** Reuse running simulators (restart tests); default: start new ones, closed by `close()`. */
  readonly sims?: Simulators;
  readonly checkpointPath?: string;
  readonly clock?: VirtualClock;
  readonly podRoutes?: EngineOptions['podRoutes'];
  readonly bucket?: { readonly ratePerSecond: number; readonly burst: number };
  /**
   * The clock EC2 retries back off on. Default: the virtual clock. Throttling tests pass the real clock, since the
   * simulator's buckets refill in real time.
   */
  readonly retryClock?: Clock;
}

export interface SimNode extends NodeEngine {
  readonly sims: Simulators;
  readonly clock: VirtualClock;
  close(): Promise<void>;
}

/** Starts simulators (unless given) and an engine for one node; `close()` stops what it started. */
export async function startNode(options: NodeOptions): Promise<SimNode> {
  const sims =
    options.sims ?? (await startSimulators({ instanceType: options.instanceType, throttle: false, ...options.sim }));
  // Like the agent: the node is learnt over IMDS (here the simulator's), never handed over by the simulator.
  const imds = new ImdsClient({ endpoint: sims.imdsUrl });
  const node = await readIpamNode(imds);
  const clock = options.clock ?? new VirtualClock();
  const dir = options.checkpointPath === undefined ? await mkdtemp(join(tmpdir(), 'vc-ipam-sim-')) : undefined;
  const built = await createNodeEngine({
    config: options.config,
    node,
    imds,
    ec2Endpoint: sims.ec2Url,
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
    checkpointPath: options.checkpointPath ?? join(dir!, 'ipam.json'),
    clock,
    ...(options.retryClock !== undefined ? { retryClock: options.retryClock } : {}),
    bucket: options.bucket ?? { ratePerSecond: 20, burst: 40 },
    backoff: options.retryClock === undefined ? { baseMs: 200, maxMs: 20_000 } : { baseMs: 20, maxMs: 500 },
    ...(options.maxPods !== undefined ? { maxPods: options.maxPods } : {}),
    ...(options.mode !== undefined ? { mode: options.mode } : {}),
    kubernetes: { kubeconfigPath: sims.kubeconfigPath, nodeName: sims.nodeName },
    ...(options.podRoutes !== undefined ? { podRoutes: options.podRoutes } : {}),
  });
  await built.engine.start();
  return {
    ...built,
    sims,
    clock,
    async close() {
      built.api.close();
      if (options.sims === undefined) await sims.close();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

export function podOwner(n: number): Owner {
  return { networkName: 'aws-cni', containerId: `sim-pod-${String(n).padStart(5, '0')}`, ifName: 'eth0' };
}

/** One loop cycle: a pool step, then `LOOP_MS` of virtual time. */
export async function cycle(node: SimNode): Promise<void> {
  await node.engine.step();
  node.clock.advance(LOOP_MS);
}

/**
 * Adds a pod and waits (in loop cycles) until it has an address; gives up after `maxCycles`, returning the last
 * reason (for example ENI_LIMIT when the node is full).
 */
export async function addPod(node: SimNode, n: number, maxCycles = 40): Promise<ShortageReason | undefined> {
  let reason: ShortageReason | undefined;
  for (let i = 0; i <= maxCycles; i++) {
    const result = await node.engine.assign(podOwner(n), { k8sPodNamespace: 'default', k8sPodName: `pod-${n}` });
    if (result.ok) return undefined;
    reason = result.reason;
    await cycle(node);
  }
  await node.engine.release(podOwner(n));
  return reason;
}

/** Steps until nothing has happened for long enough that no timer (decrease interval, ENI lifetime) is pending. */
export async function settle(node: SimNode, maxCycles = 200): Promise<void> {
  const quietCycles = Math.ceil((node.policy.minEniLifetimeMs + node.policy.decreaseIntervalMs) / LOOP_MS) + 1;
  let quiet = 0;
  for (let i = 0; i < maxCycles && quiet < quietCycles; i++) {
    const done = await node.engine.step();
    quiet = done.length === 0 ? quiet + 1 : 0;
    node.clock.advance(LOOP_MS);
  }
}

export interface EniOutcome {
  readonly deviceNumber: number;
  readonly id: string;
  /** Secondary IPv4 addresses (/32s) on the ENI, its primary address not counted. */
  readonly ips: number;
  readonly prefixes: number;
  readonly pods: number;
}

export interface SimulationOutcome {
  readonly instanceType: string;
  readonly pods: number;
  readonly podsPlaced: number;
  /** The max-pods the pool was held to (the same as `vpc-cni max-pods` unless --max-pods was given). */
  readonly maxPods: number;
  /** Pods the node's addresses could hold, before the EKS calculator's cap. */
  readonly podCapacity: number;
  readonly enis: readonly EniOutcome[];
  /** Addresses held but not assigned (secondary /32s plus prefix addresses). */
  readonly idleAddresses: number;
  readonly ec2Calls: { readonly total: number; readonly mutating: number; readonly byAction: Record<string, number> };
  /** Why the pods that did not fit got no address. */
  readonly unplaced: readonly string[];
  readonly notes: readonly string[];
}

export function outcome(node: SimNode, instanceType: string, pods: number, unplaced: string[]): SimulationOutcome {
  const store = node.engine.store;
  const leases = store.leases();
  const enis = store
    .eniIds()
    .map((id) => {
      const cidrs = store.cidrs(id);
      return {
        deviceNumber: store.eni(id)!.deviceNumber,
        id,
        ips: cidrs.filter((c) => !c.prefix).length,
        prefixes: cidrs.filter((c) => c.prefix).length,
        pods: leases.filter((l) => l.eniId === id).length,
      };
    })
    .sort((a, b) => a.deviceNumber - b.deviceNumber);
  const held = enis.reduce((n, e) => n + e.ips + e.prefixes * 16, 0);
  return {
    instanceType,
    pods,
    podsPlaced: leases.length,
    maxPods: node.policy.maxPods,
    podCapacity: node.computedMaxPods.capacity,
    enis,
    idleAddresses: held - leases.length,
    ec2Calls: { total: node.api.counts.total, mutating: node.api.counts.mutating, byAction: node.api.counts.byAction },
    unplaced,
    notes: [
      ...node.notes,
      ...node.engine.events
        .recent()
        .filter((e) => e.kind === 'prefix-fallback' || e.kind === 'note')
        .map((e) => e.message),
    ],
  };
}

/** `vpc-cni simulate`: N pods one at a time on a fresh node, then settle; the outcome as data. */
export async function simulate(options: NodeOptions & { readonly pods: number }): Promise<SimulationOutcome> {
  const node = await startNode({ ...options, sim: { profile: 'fast', ...options.sim } });
  try {
    const unplaced: string[] = [];
    await settle(node);
    for (let n = 1; n <= options.pods; n++) {
      const reason = await addPod(node, n);
      if (reason !== undefined) {
        unplaced.push(`pod ${n}: ${formatReason(reason)}`);
        break;
      }
    }
    await settle(node);
    return outcome(node, options.instanceType, options.pods, unplaced);
  } finally {
    await node.close();
  }
}
