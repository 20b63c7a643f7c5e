/**
 * One node's IPAM engine, assembled from configuration and what IMDS says of the node: the warm-pool policy for its
 * instance type, the paced EC2 client, the allocator (tags, subnet discovery, ENIConfig) and the engine itself. The
 * agent and the simulate harness build it the same way, so what `simulate` shows is what the agent does.
 */
import type { Config } from '../compiler/settings/index.ts';
import { instanceTypeLimits } from '../data/instance-limits.ts';
import type { InstanceLimits } from '../lib/instance-limits.ts';
import type { BucketSpec } from '../lib/token-bucket.ts';
import { Ec2Api, type Ec2Options } from './cloud/client.ts';
import { Ec2Allocator } from './cloud/ec2.ts';
import type { ImdsClient, IpamNode } from './cloud/imds.ts';
import type { BackoffSpec, Clock } from './cloud/rate.ts';
import { type EngineOptions, IpamEngine } from './engine.ts';
import { REFERENCE_TIMINGS, warmPoolPolicy } from './policy/limits.ts';
import { type NodeMaxPods, nodeMaxPods } from './policy/max-pods.ts';
import type { WarmPoolPolicy } from './policy/types.ts';

export interface NodeEngineOptions {
  readonly config: Config;
  /** The node as IMDS described it (`readIpamNode`). */
  readonly node: IpamNode;
  readonly imds: ImdsClient;
  /** EC2's endpoint (the simulator's, or AWS_ENDPOINT_URL_EC2); undefined = the SDK's own resolution. */
  readonly ec2Endpoint?: string;
  readonly credentials?: Ec2Options['credentials'];
  readonly checkpointPath: string;
  /** The loop's clock: real in the agent, virtual in the harness. */
  readonly clock: Clock;
  /** The clock EC2 retries back off on (default: `clock`). */
  readonly retryClock?: Clock;
  readonly bucket: BucketSpec;
  readonly backoff: BackoffSpec;
  /** Default: what `vpc-cni max-pods` prints for the instance and settings. */
  readonly maxPods?: number;
  readonly mode?: WarmPoolPolicy['mode'];
  /** For custom networking: where the node's ENIConfig is read from. */
  readonly kubernetes?: { readonly kubeconfigPath?: string; readonly nodeName: string };
  readonly podRoutes?: EngineOptions['podRoutes'];
  /** Told of every EC2 attempt (action, latency, error code). */
  readonly onEc2Call?: Ec2Options['onCall'];
  /** The caller runs the EC2 reconcile and the leaked-ENI sweep on loops of its own (the agent); `step` does neither. */
  readonly ownLoops?: boolean;
}

export interface NodeEngine {
  readonly engine: IpamEngine;
  readonly api: Ec2Api;
  readonly allocator: Ec2Allocator;
  readonly policy: WarmPoolPolicy;
  readonly limits: InstanceLimits;
  /** The computed max-pods (capacity and cap), whatever `maxPods` was passed. */
  readonly computedMaxPods: NodeMaxPods;
  /** What the policy had to decide for the operator (e.g. a target that the instance cannot hold). */
  readonly notes: readonly string[];
  /**
   * The warm-pool policy for a changed configuration, on the same instance, max-pods and mode: what a live change of
   * the warm targets swaps into the engine (`engine.reconfigure`).
   */
  policyFor(config: Config): { readonly policy: WarmPoolPolicy; readonly notes: readonly string[] };
}

export function limitsOf(instanceType: string): InstanceLimits {
  const limits = instanceTypeLimits(instanceType);
  if (limits === undefined)
    throw new Error(`unknown instance type '${instanceType}' (not in src/data/instance-limits.json)`);
  return limits;
}

/** Builds the engine (not started: `engine.start()` reads EC2 and the checkpoint). */
export async function createNodeEngine(o: NodeEngineOptions): Promise<NodeEngine> {
  const { config, node } = o;
  const instanceType = node.facts.instanceType;
  const limits = limitsOf(instanceType);
  const computed = nodeMaxPods(instanceType, limits, config);
  const policyFor = (c: Config) =>
    warmPoolPolicy(c, limits, {
      maxPods: o.maxPods ?? computed.maxPods,
      mode: o.mode ?? 'reference',
      ...REFERENCE_TIMINGS,
    });
  const { policy, notes } = policyFor(config);
  const api = new Ec2Api({
    ...(o.ec2Endpoint !== undefined ? { endpoint: o.ec2Endpoint } : {}),
    ...(o.credentials !== undefined ? { credentials: o.credentials } : {}),
    region: node.facts.region,
    bucket: o.bucket,
    backoff: o.backoff,
    maxAttempts: 5,
    clock: o.retryClock ?? o.clock,
    ...(o.onEc2Call === undefined ? {} : { onCall: o.onEc2Call }),
  });
  try {
    // client-node costs ~0.5 s to import: only custom networking pays for it.
    const eniConfig = config.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG
      ? await (await import('./cloud/eniconfig.ts')).readEniConfigWith(
          o.kubernetes?.kubeconfigPath,
          o.kubernetes?.nodeName ?? '',
          { label: config.ENI_CONFIG_LABEL_DEF, annotation: config.ENI_CONFIG_ANNOTATION_DEF },
        )
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
      checkpointPath: o.checkpointPath,
      allocator,
      api,
      clock: o.clock,
      primaryEniId: node.primaryEniId,
      imds: o.imds,
      leakSweep: !config.DISABLE_LEAKED_ENI_CLEANUP && o.ownLoops !== true,
      reconcileInStep: o.ownLoops !== true,
      ...(o.podRoutes !== undefined ? { podRoutes: o.podRoutes } : {}),
    });
    return { engine, api, allocator, policy, limits, computedMaxPods: computed, notes, policyFor };
  } catch (error) {
    api.close();
    throw error;
  }
}
