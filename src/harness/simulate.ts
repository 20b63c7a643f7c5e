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
import { instanceTypeLimits } from '../data/instance-limits.ts';
import { Ec2Api } from '../ipam/cloud/client.ts';
import { Ec2Allocator } from '../ipam/cloud/ec2.ts';
import { ImdsClient, readIpamNode } from '../ipam/cloud/imds.ts';
import type { Clock } from '../ipam/cloud/rate.ts';
import type { Owner } from '../ipam/datastore.ts';
import { type EngineOptions, IpamEngine } from '../ipam/engine.ts';
import { REFERENCE_TIMINGS, warmPoolPolicy } from '../ipam/policy/limits.ts';
import { type NodeMaxPods, nodeMaxPods } from '../ipam/policy/max-pods.ts';
import type { WarmPoolPolicy } from '../ipam/policy/types.ts';
import type { InstanceLimits } from '../lib/instance-limits.ts';
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

export interface SimNode {
  readonly engine: IpamEngine;
  readonly sims: Simulators;
  readonly api: Ec2Api;
  readonly allocator: Ec2Allocator;
  readonly clock: VirtualClock;
  readonly policy: WarmPoolPolicy;
  /** The computed max-pods (capacity and cap), whatever `maxPods` was passed. */
  readonly computedMaxPods: NodeMaxPods;
  readonly notes: readonly string[];
  close(): Promise<void>;
}

export function limitsOf(instanceType: string): InstanceLimits {
  const limits = instanceTypeLimits(instanceType);
  if (limits === undefined)
    throw new Error(`unknown instance type '${instanceType}' (not in src/data/instance-limits.json)`);
  return limits;
}

/** Starts simulators (unless given) and an engine for one node; `close()` stops what it started. */
export async function startNode(options: NodeOptions): Promise<SimNode> {
  const config = options.config;
  const sims =
    options.sims ?? (await startSimulators({ instanceType: options.instanceType, throttle: false, ...options.sim }));
  // Like the agent: the node is learnt over IMDS (here the simulator's), never handed over by the simulator.
  const imds = new ImdsClient({ endpoint: sims.imdsUrl });
  const node = await readIpamNode(imds);
  const instanceType = node.facts.instanceType;
  const limits = limitsOf(instanceType);
  const computed = nodeMaxPods(instanceType, limits, config);
  const { policy, notes } = warmPoolPolicy(config, limits, {
    maxPods: options.maxPods ?? computed.maxPods,
    mode: options.mode ?? 'reference',
    ...REFERENCE_TIMINGS,
  });
  const clock = options.clock ?? new VirtualClock();
  const dir = options.checkpointPath === undefined ? await mkdtemp(join(tmpdir(), 'vc-ipam-sim-')) : undefined;
  const api = new Ec2Api({
    endpoint: sims.ec2Url,
    region: node.facts.region,
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
    bucket: options.bucket ?? { ratePerSecond: 20, burst: 40 },
    backoff: options.retryClock === undefined ? { baseMs: 200, maxMs: 20_000 } : { baseMs: 20, maxMs: 500 },
    maxAttempts: 5,
    clock: options.retryClock ?? clock,
  });
  // client-node costs ~0.5 s to import: only custom networking pays for it.
  const eniConfig = config.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG
    ? await (await import('../ipam/cloud/eniconfig.ts')).readEniConfigWith(sims.kubeconfigPath, sims.nodeName, {
        label: config.ENI_CONFIG_LABEL_DEF,
        annotation: config.ENI_CONFIG_ANNOTATION_DEF,
      })
    : undefined;
  const allocator = new Ec2Allocator(api, {
    ...(eniConfig !== undefined ? { eniConfig } : {}),
    instanceId: node.facts.instanceId,
    vpcId: node.vpcId,
    zone: node.facts.availabilityZone,
    primarySubnetId: node.primarySubnetId,
    clusterName: config.CLUSTER_NAME,
    additionalTags: config.ADDITIONAL_ENI_TAGS,
    subnetDiscovery: config.ENABLE_SUBNET_DISCOVERY,
  });
  const engine = new IpamEngine({
    policy,
    cooldownMs: config.IP_COOLDOWN_PERIOD * 1000,
    checkpointPath: options.checkpointPath ?? join(dir!, 'ipam.json'),
    allocator,
    api,
    clock,
    primaryEniId: node.primaryEniId,
    imds,
    leakSweep: !config.DISABLE_LEAKED_ENI_CLEANUP,
    ...(options.podRoutes !== undefined ? { podRoutes: options.podRoutes } : {}),
  });
  await engine.start();
  return {
    engine,
    sims,
    api,
    allocator,
    clock,
    policy,
    computedMaxPods: computed,
    notes,
    async close() {
      api.close();
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
