import type { Server } from 'node:http';
import { join } from 'node:path';
import { instanceTypeLimits } from '../data/instance-limits.ts';
import { AuditLog } from './audit.ts';
import { createEc2Server } from './ec2/server.ts';
import { Faults } from './faults.ts';
import { listen, shutdown } from './http.ts';
import { createImdsServer } from './imds/server.ts';
import { seedCluster, writeKubeconfig } from './kubernetes/seed.ts';
import { createKubernetesServer } from './kubernetes/server.ts';
import { ObjectStore } from './kubernetes/store.ts';
import type { Cloud, VpcSpec } from './model/cloud.ts';
import type { Instance } from './model/eni.ts';
import { buildCloud } from './model/topology.ts';
import { type SimNode, startNode } from './node/node.ts';
import { PROFILES, type Profile, type ProfileName } from './profile.ts';
import { EC2_BUCKETS, Throttle, type ThrottleSpec } from './throttle.ts';

export type { AuditEntry, AuditLog, AuditQuery } from './audit.ts';
export type { Faults, InjectedError } from './faults.ts';
export { RESOURCES, type ResourceType } from './kubernetes/resources.ts';
export type { KubeObject } from './kubernetes/selectors.ts';
export { ObjectStore } from './kubernetes/store.ts';
export type { Cloud, VpcSpec } from './model/cloud.ts';
export type { Eni, Instance } from './model/eni.ts';
export { defaultVpc } from './model/topology.ts';
export type { SimNode } from './node/node.ts';
export type { Profile, ProfileName } from './profile.ts';
export { EC2_BUCKETS, type ThrottleSpec } from './throttle.ts';

export interface SimulatorOptions {
  /** The node's instance type (a key of src/data/instance-limits.json). Default m5.large. */
  readonly instanceType?: string;
  /** `fast` (no latency, IMDS in step with EC2) for tests; `realistic` for the demo and benchmarks. Default fast. */
  readonly profile?: ProfileName;
  /** Overrides of the chosen profile's figures (e.g. `{imdsPropagationMs: 200}`). */
  readonly profileOverrides?: Partial<Profile>;
  /** Fixed ports; by default each server takes a free port. */
  readonly ports?: { readonly ec2?: number; readonly imds?: number; readonly kubernetes?: number };
  /** EC2 token buckets; `false` turns throttling off. Default: EC2's documented buckets. */
  readonly throttle?: ThrottleSpec | false;
  readonly region?: string;
  /** Replaces the default VPC (see defaultVpc); the node goes in the first subnet. */
  readonly vpc?: VpcSpec;
  /**
   * Lay the node out in real network namespaces (root only): this namespace, created, becomes the instance's host
   * network, and `NAME-vpc` the VPC fabric; ENIs are hot-plugged as EC2 attaches them. See `Simulators.node`.
   */
  readonly nodeNetns?: string;
}

/** An agent's directories on the simulated node: the plugin and conflist it installs, and its state. */
export interface AgentDirectories {
  readonly bin: string;
  readonly conf: string;
  readonly state: string;
}

/** The part of an agent's options that `Simulators.agentOptions` gives (the agent's own type is not the simulators'). */
export interface SimulatedAgentOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly netns: string;
  readonly stateDir: string;
  readonly checkpointPath: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
}

export interface Simulators {
  readonly ec2Url: string;
  readonly imdsUrl: string;
  readonly kubernetesUrl: string;
  /** A kubeconfig file for `kubectl` and client-node (removed by `close()`). */
  readonly kubeconfigPath: string;
  /** The Kubernetes node object's name (the instance's private DNS name). */
  readonly nodeName: string;
  /**
   * The variables `vpc-cni agent` reads to reach these simulators (the SDKs' standard endpoint variables, static
   * credentials the simulated EC2 accepts, the node's name), for an agent in-process or a child's environment.
   */
  readonly agentEnv: Readonly<Record<string, string>>;
  /**
   * What every in-process agent serving the simulated node shares, whatever else it sets: `agentEnv`, the node's
   * namespace, and its state, checkpoint, plugin and conflist directories under `dirs`. Needs `nodeNetns`.
   */
  agentOptions(dirs: AgentDirectories): SimulatedAgentOptions;
  readonly region: string;
  /** The one model behind EC2 and IMDS; tests may read it (e.g. `model.unattachedEnis()` to prove nothing leaked). */
  readonly model: Cloud;
  readonly instance: Instance;
  /** The API server's storage: seed pods, ConfigMaps and ENIConfigs with `kubernetes.create(...)`. */
  readonly kubernetes: ObjectStore;
  readonly audit: AuditLog;
  readonly faults: Faults;
  readonly throttle: Throttle;
  /** The node in the kernel, when `nodeNetns` was given. */
  readonly node: SimNode | undefined;
  close(): Promise<void>;
}

/** Starts the simulators on 127.0.0.1 for one node of `instanceType` in a VPC. */
export async function startSimulators(options: SimulatorOptions = {}): Promise<Simulators> {
  const instanceType = options.instanceType ?? 'm5.large';
  if (instanceTypeLimits(instanceType) === undefined) {
    throw new Error(`unknown instance type '${instanceType}' (not in src/data/instance-limits.json)`);
  }
  const profile: Profile = { ...PROFILES[options.profile ?? 'fast'], ...options.profileOverrides };
  const { cloud, instance } = buildCloud({ instanceType, region: options.region, vpc: options.vpc });
  const audit = new AuditLog();
  const faults = new Faults();
  const throttle = new Throttle(options.throttle ?? EC2_BUCKETS);
  const servers: Server[] = [];
  const ec2 = createEc2Server({ cloud, audit, faults, throttle, profile: () => profile });
  servers.push(ec2);
  const imds = createImdsServer({
    cloud,
    instanceId: instance.id,
    audit,
    faults,
    propagationMs: profile.imdsPropagationMs,
  });
  servers.push(imds.server);
  const store = new ObjectStore();
  const nodeName = seedCluster(store, cloud, instance);
  const kubernetes = createKubernetesServer({ store, audit, faults, bookmarkIntervalMs: profile.bookmarkIntervalMs });
  servers.push(kubernetes);
  let node: SimNode | undefined;
  // A port already in use must not leave the other servers, or the node's namespaces, behind.
  const stopAll = async () => {
    imds.stop();
    await Promise.all(servers.filter((server) => server.listening).map(shutdown));
    await node?.close();
  };
  const agentOptions = (dirs: AgentDirectories): SimulatedAgentOptions => {
    if (node === undefined)
      throw new Error('agentOptions: these simulators lay out no node (start them with nodeNetns)');
    return {
      env: agentEnv,
      netns: node.netns,
      stateDir: dirs.state,
      checkpointPath: join(dirs.state, 'ipam.json'),
      cniBinDir: dirs.bin,
      cniConfDir: dirs.conf,
    };
  };
  let urls: [string, string, string];
  try {
    // Before any server listens, so the node follows every EC2 call from the first.
    if (options.nodeNetns !== undefined) node = await startNode(cloud, instance, options.nodeNetns);
    urls = [
      await listen(ec2, options.ports?.ec2),
      await listen(imds.server, options.ports?.imds),
      await listen(kubernetes, options.ports?.kubernetes),
    ];
  } catch (error) {
    await stopAll();
    throw error;
  }
  const [ec2Url, imdsUrl, kubernetesUrl] = urls;
  const kubeconfig = await writeKubeconfig(kubernetesUrl);
  const agentEnv = {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsUrl,
    AWS_ENDPOINT_URL_EC2: ec2Url,
    AWS_ACCESS_KEY_ID: 'sim',
    AWS_SECRET_ACCESS_KEY: 'sim',
    MY_NODE_NAME: nodeName,
  };
  return {
    ec2Url,
    imdsUrl,
    kubernetesUrl,
    kubeconfigPath: kubeconfig.path,
    nodeName,
    agentEnv,
    agentOptions,
    kubernetes: store,
    region: cloud.region,
    model: cloud,
    instance,
    audit,
    faults,
    throttle,
    node,
    async close() {
      try {
        await stopAll();
      } finally {
        await kubeconfig.remove();
      }
    },
  };
}
