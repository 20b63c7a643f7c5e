import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
} from '@aws-sdk/client-ec2';
import type { ExecutionContext } from 'ava';
import { execa, type ResultPromise } from 'execa';
import { NETWORK_NAME } from '../../src/agent/conflist.ts';
import { parseSavedPlan } from '../../src/apply/saved.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { type Simulators, startSimulators } from '../../src/sim/index.ts';
import { kernelSnapshot } from '../apply/kernel-node.ts';
import { kubeProxySteps } from '../fixtures/aws-node/kube-proxy.ts';
import {
  type AwsNodeConfig,
  checkpoint,
  configEnv,
  DEFAULT_CONFIG,
  hostVeth,
  hostVethMac,
  type NodeFacts,
  nodeSteps,
  type PodFacts,
  podSteps,
  routeTable,
  runSteps,
} from '../fixtures/aws-node/node.ts';
import { AddResult, canBuildCniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns, createNetns, type TestNetns } from '../helpers/netns.ts';
import { TEST_SEA_CACHE } from '../helpers/plugin.ts';
import { ec2Client } from '../sim/ec2-client.ts';

// The drop-in switch: a node laid out by the simulators is put in the state aws-node leaves (test/fixtures/aws-node,
// written from the reference alone), then the real `vpc-cni agent` process takes it over. Nothing of the host network
// may change — not while it starts, not while it serves, not when it stops — and no pod may lose a packet.
const BIN = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;
const SYSTEM_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

/** The simulators' node namespace, seen through the helpers' interface (it is the simulators' to delete). */
function existingNetns(name: string): TestNetns {
  const run = async (file: string, args: readonly string[], input?: string) =>
    (
      await execa(file, args, {
        env: { PATH: SYSTEM_PATH },
        ...(input === undefined ? { stdin: 'ignore' } : { input }),
      })
    ).stdout;
  return {
    name,
    path: `/var/run/netns/${name}`,
    exec: (file, args, input) => run('ip', ['netns', 'exec', name, file, ...args], input),
    ip: (args) => run('ip', ['-n', name, ...args]),
  };
}

/**
 * aws-node's EC2 side (ipam §3.2): the primary ENI filled, one ENI in the subnet with the most free addresses. With
 * prefix delegation (ipam §2.1, WARM_PREFIX_TARGET=1) /28s instead: two on the primary (one of them still free, the
 * warm prefix), one on the secondary ENI.
 */
async function attachLikeAwsNode(sims: Simulators, prefixDelegation: boolean): Promise<void> {
  const ec2 = ec2Client(sims);
  const perEni = 5; // t3.medium: 6 IPv4 addresses per ENI, the primary's own first.
  const primary = sims.model.eni(sims.instance.primaryEniId);
  await ec2.send(
    new AssignPrivateIpAddressesCommand({
      NetworkInterfaceId: primary.id,
      ...(prefixDelegation ? { Ipv4PrefixCount: 2 } : { SecondaryPrivateIpAddressCount: perEni }),
    }),
  );
  // Subnet discovery: `kubernetes.io/role/cni`-tagged subnets in the node's zone, most free addresses first.
  const podSubnet = [...sims.model.subnets.values()].find(
    (s) => s.zone === primary.zone && s.tags.get('kubernetes.io/role/cni') === '1',
  )!;
  const created = await ec2.send(
    new CreateNetworkInterfaceCommand({
      SubnetId: podSubnet.id,
      Description: `aws-K8S-${sims.instance.id}`,
      Groups: primary.groups,
      ...(prefixDelegation ? { Ipv4PrefixCount: 1 } : { SecondaryPrivateIpAddressCount: perEni }),
      TagSpecifications: [
        {
          ResourceType: 'network-interface',
          Tags: [
            { Key: 'node.k8s.amazonaws.com/instance_id', Value: sims.instance.id },
            { Key: 'node.k8s.amazonaws.com/createdAt', Value: new Date().toISOString() },
          ],
        },
      ],
    }),
  );
  const eniId = created.NetworkInterface!.NetworkInterfaceId!;
  const attached = await ec2.send(
    new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: sims.instance.id, DeviceIndex: 1 }),
  );
  await ec2.send(
    new ModifyNetworkInterfaceAttributeCommand({
      NetworkInterfaceId: eniId,
      Attachment: { AttachmentId: attached.AttachmentId!, DeleteOnTermination: true },
    }),
  );
  ec2.destroy();
  await sims.node!.settled();
}

function nodeFacts(sims: Simulators, connmark: NodeFacts['connmark'], config: AwsNodeConfig): NodeFacts {
  const enis = sims.model.attachedTo(sims.instance.id);
  const primary = sims.model.eni(sims.instance.primaryEniId);
  return {
    netns: sims.node!.netns,
    primary: { name: 'eth0', ip: primary.privateIps[0]!.address },
    vpcCidrs: sims.model.vpcCidrs,
    secondaries: enis
      .filter((e) => e.id !== primary.id)
      .map((e) => ({
        name: `eth${e.attachment!.deviceIndex}`,
        deviceNumber: e.attachment!.deviceIndex,
        ip: e.privateIps[0]!.address,
        subnetCidr: sims.model.subnet(e.subnetId).cidrBlock,
      })),
    connmark,
    config,
  };
}

/**
 * Four pods as aws-node's plugin wired them: two on the primary ENI, two on the secondary one; with `nameless` the
 * last is one whose runtime passed no Kubernetes names in CNI_ARGS. Four of ten addresses leave six free, more than
 * WARM_ENI_TARGET=1 asks (five) even with the test's new pod: a fifth would make the pool attach an ENI.
 */
async function wirePods(t: ExecutionContext, sims: Simulators, variant: Variant): Promise<PodFacts[]> {
  const names: ReadonlyArray<readonly [string, string]> = [
    // The reference's own example: its host veth is enib5faff8a083 (host-network §3.1).
    ['kube-system', 'coredns-57ff979f67-qqbdh'],
    ['default', 'web-0'],
    ['default', 'api-7c9f8d-x2kq'],
    variant.nameless === true ? ['', ''] : ['monitoring', 'prometheus-0'],
  ];
  const byDevice = sims.model
    .attachedTo(sims.instance.id)
    .toSorted((a, b) => a.attachment!.deviceIndex - b.attachment!.deviceIndex);
  const pods: PodFacts[] = [];
  for (const [i, [namespace, name]] of names.entries()) {
    const eni = byDevice[i < 2 ? 0 : 1]!;
    const ns = await createNetns(t, 'tkp');
    pods.push({
      namespace,
      name,
      containerId: randomBytes(32).toString('hex'),
      ip: variant.prefixDelegation === true ? inPrefix(eni.prefixes[0]!, i % 2) : eni.privateIps[1 + (i % 2)]!.address,
      netns: ns.name,
      table: routeTable(eni.attachment!.deviceIndex),
    });
  }
  for (const pod of pods) await runSteps(podSteps(sims.node!.netns, pod, hostVethMac(), variant.config));
  return pods;
}

/** The n-th address of a /28: ipamd hands out a prefix from its network address up (ipam §9 item 7). */
function inPrefix(prefix: string, n: number): string {
  const [a, b, c, d] = prefix.split('/')[0]!.split('.').map(Number) as [number, number, number, number];
  return `${a}.${b}.${c}.${d + n}`;
}

async function pingsFromVpc(sims: Simulators, ip: string): Promise<boolean> {
  const r = await execa(
    'ip',
    ['netns', 'exec', sims.node!.vpcNetns, 'ping', '-c1', '-W2', '-I', sims.node!.vpcPeer, ip],
    { env: { PATH: SYSTEM_PATH }, extendEnv: false, reject: false },
  );
  return r.exitCode === 0;
}

/** A ping every 100 ms from the VPC peer until stopped; resolves to [sent, received]. */
function pingWhile(t: ExecutionContext, sims: Simulators, ip: string): { stop(): Promise<[number, number]> } {
  const child = execa(
    'ip',
    ['netns', 'exec', sims.node!.vpcNetns, 'ping', '-i', '0.1', '-W', '2', '-I', sims.node!.vpcPeer, ip],
    { env: { PATH: SYSTEM_PATH }, extendEnv: false, reject: false },
  );
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  return {
    async stop() {
      child.kill('SIGINT');
      const out = (await child).stdout;
      const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
      if (m === null) throw new Error(`ping to ${ip}: no summary in ${out}`);
      return [Number(m[1]), Number(m[2])];
    },
  };
}

/** What a pod has of its own network: links, addresses, routes of every table, the permanent gateway neighbour. */
async function podSnapshot(pod: PodFacts): Promise<string> {
  const ns = existingNetns(pod.netns);
  const parts = await Promise.all([
    ns.ip(['-o', 'link', 'show']),
    ns.ip(['-4', '-o', 'address', 'show']),
    ns.ip(['-4', 'route', 'show', 'table', 'all']),
    ns.ip(['neighbour', 'show', 'nud', 'permanent']),
  ]);
  return parts.join('\n').replace(/valid_lft \S+ preferred_lft \S+/g, '');
}

/** `vpc-cni plan` against the node: its exit code, the changes it prints and the plan it saved. */
async function plan(
  env: Record<string, string>,
  nodeNs: string,
  out: string,
): Promise<{ exitCode: number; changes: string; plan: HostPlan }> {
  const r = await execa(
    process.execPath,
    [BIN, 'plan', '--netns', nodeNs, '--detailed-exitcode', '--output', 'json', '--out', out],
    { env, extendEnv: false, reject: false },
  );
  return {
    exitCode: r.exitCode ?? -1,
    changes: `${r.stdout}\n${r.stderr}`,
    plan: parseSavedPlan(await readFile(out, 'utf8'), out).plan,
  };
}

interface CheckpointText {
  readonly version: string;
  readonly allocations: ReadonlyArray<{ readonly ipv4: string }>;
}

/** JSON with every number kept as its digits: the nanosecond timestamps exceed 2^53. */
function exactJson(text: string): CheckpointText {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' ? `#${context?.source}` : value,
  ) as CheckpointText;
}

const byAddress = (allocations: CheckpointText['allocations']) =>
  allocations.toSorted((a, b) => a.ipv4.localeCompare(b.ipv4));

async function startAgentProcess(
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ child: ResultPromise; output: () => string }> {
  const child = execa(process.execPath, [BIN, 'agent', ...args], { env, extendEnv: false, reject: false, all: true });
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.all!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(' ready: ')) resolve();
    });
    void child.then(() => reject(new Error(`agent exited before ready:\n${seen}`)));
  });
  return { child, output: () => seen };
}

interface Variant {
  readonly connmark: NodeFacts['connmark'];
  readonly config: AwsNodeConfig;
  readonly nameless?: boolean;
  readonly prefixDelegation?: boolean;
}

async function takeover(t: ExecutionContext, variant: Variant): Promise<void> {
  const { connmark, config } = variant;
  const nodeNs = `vc-takeover-${randomBytes(4).toString('hex')}`;
  const sims = await startSimulators({
    instanceType: 't3.medium',
    profile: 'fast',
    throttle: false,
    nodeNetns: nodeNs,
  });
  t.teardown(() => sims.close());
  const dir = await mkdtemp(join(tmpdir(), 'vc-takeover-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [bin, conf, checkConf, state, cache, awsNodeRun] = [
    'bin',
    'conf',
    'check-conf',
    'state',
    'cache',
    'var/run/aws-node',
  ].map((d) => join(dir, d)) as [string, string, string, string, string, string];
  await Promise.all([bin, conf, checkConf, state, cache, awsNodeRun].map((d) => mkdir(d, { recursive: true })));

  // ---- The node as aws-node leaves it.
  await attachLikeAwsNode(sims, variant.prefixDelegation === true);
  const facts = nodeFacts(sims, connmark, config);
  await runSteps([...nodeSteps(facts), ...kubeProxySteps(nodeNs)]);
  const pods = await wirePods(t, sims, variant);
  t.is(hostVeth('eni', 'kube-system', 'coredns-57ff979f67-qqbdh'), 'enib5faff8a083', 'the reference example veth name');
  const backingStore = join(awsNodeRun, 'ipam.json');
  const written = checkpoint(pods, BigInt(Date.now()) * 1_000_000n);
  await writeFile(backingStore, written);
  for (const pod of pods) t.true(await pingsFromVpc(sims, pod.ip), `aws-node's pod ${pod.ip} answers the VPC peer`);

  const env = {
    ...sims.agentEnv,
    VPC_CNI_CACHE_DIR: TEST_SEA_CACHE,
    AWS_VPC_K8S_CNI_BACKING_STORE: backingStore,
    AWS_VPC_K8S_PLUGIN_LOG_FILE: join(dir, 'plugin.log'),
    ...configEnv(config),
    ...(variant.prefixDelegation === true ? { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' } : {}),
    ...(connmark === 'iptables' ? { VPC_CNI_IPTABLES_MODE: 'legacy' } : {}),
  };
  // Before the agent: `vpc-cni plan` finds aws-node's node already as it wants it (each difference printed).
  const before = await plan(env, nodeNs, join(dir, 'before.plan'));
  t.is(before.exitCode, 0, before.changes);
  t.regex(before.changes, new RegExp(`pods: ${pods.length} wired of ${pods.length}`));
  const node = existingNetns(nodeNs);
  // The plan's sysctls and those aws-node's plugin and the node image set, which nothing may change either.
  const watched: HostPlan = {
    ...before.plan,
    sysctls: [
      ...before.plan.sysctls,
      ...['net/ipv4/ip_forward', 'net/ipv4/conf/all/rp_filter', 'net/ipv4/conf/eth1/rp_filter'].map((path) => ({
        kind: 'sysctl' as const,
        path,
        value: '',
        because: 'watched',
      })),
      ...pods.map((p) => ({
        kind: 'sysctl' as const,
        path: `net/ipv6/conf/${hostVeth(config.AWS_VPC_K8S_CNI_VETHPREFIX, p.namespace, p.name)}/accept_ra`,
        value: '',
        because: 'watched',
      })),
    ],
  };
  const snapshot = async () => ({
    node: await kernelSnapshot(node, watched),
    pods: await Promise.all(pods.map(podSnapshot)),
  });
  const original = await snapshot();

  // ---- The agent takes over, every pod pinged all along.
  const pinging = pods.map((p) => pingWhile(t, sims, p.ip));
  const agent = await startAgentProcess(
    ['--netns', nodeNs, '--state-dir', state, '--bin-dir', bin, '--conf-dir', conf],
    env,
  );
  t.teardown(() => {
    agent.child.kill('SIGKILL');
  });
  t.teardown(() => {
    if (!t.passed) t.log(agent.output());
  });
  t.regex(agent.output(), new RegExp(`IPAM: ${pods.length} pods restored`));
  t.deepEqual(await snapshot(), original, 'the agent started without touching the host network');
  const serving = await plan(env, nodeNs, join(dir, 'serving.plan'));
  t.is(serving.exitCode, 0, serving.changes);

  // CHECK through the installed plugin: a conflist with CHECK enabled (the installed one disables it, as the
  // reference's does, and libcni then never calls the plugin) and the same network name, so the agent's owner keys
  // are aws-node's.
  const installed = JSON.parse(await readFile(join(conf, '10-aws.conflist'), 'utf8')) as {
    plugins: Array<Record<string, unknown>>;
  };
  await writeFile(
    join(checkConf, '10-aws.conflist'),
    JSON.stringify({ cniVersion: '0.4.0', name: NETWORK_NAME, disableCheck: false, plugins: [installed.plugins[0]] }),
  );
  const checker = await cniRuntime({
    confDir: checkConf,
    network: NETWORK_NAME,
    binDirs: [bin],
    cacheDir: cache,
    nodeNetns: nodeNs,
  });
  // Our plugin serves only pods the runtime names (a nameless one has nothing to CHECK by).
  for (const pod of pods.filter((p) => p.name !== '')) {
    const check = await checker.check({
      containerId: pod.containerId,
      netns: `/var/run/netns/${pod.netns}`,
      podName: pod.name,
      podNamespace: pod.namespace,
    });
    t.true(check.ok, `CHECK ${pod.namespace}/${pod.name}: ${JSON.stringify(check)}`);
  }

  // A new pod gets an address none of aws-node's pods holds, and reaches the VPC peer.
  const runtime = await cniRuntime({
    confDir: conf,
    network: NETWORK_NAME,
    binDirs: [bin],
    cacheDir: cache,
    nodeNetns: nodeNs,
  });
  const fresh = await createNetns(t, 'tkn');
  const attachment = {
    containerId: randomBytes(32).toString('hex'),
    netns: fresh.path,
    podName: 'new-0',
    podNamespace: 'default',
  };
  const added = await runtime.add(attachment);
  if (!added.ok) throw new Error(`ADD failed: ${JSON.stringify(added.error)}`);
  const freshIp = AddResult.parse(added.result).ips[0]!.address.split('/')[0]!;
  t.false(
    pods.some((p) => p.ip === freshIp),
    `${freshIp} is not held by aws-node's pods`,
  );
  t.true(await pingsFromVpc(sims, freshIp), `the new pod ${freshIp} answers the VPC peer`);
  const deleted = await runtime.del(attachment);
  t.true(deleted.ok, JSON.stringify(deleted));
  // The runtime then destroys the pod's namespace, and with it the host end of its veth (if DEL left it).
  await execa('ip', ['-n', nodeNs, 'link', 'delete', hostVeth(config.AWS_VPC_K8S_CNI_VETHPREFIX, 'default', 'new-0')], {
    env: { PATH: SYSTEM_PATH },
    reject: false,
  });
  t.deepEqual(await snapshot(), original, 'after a pod came and went, the node is as aws-node left it');

  // ---- SIGTERM: aws-node would find its world unchanged.
  agent.child.kill('SIGTERM');
  t.is((await agent.child).exitCode, 0, agent.output());
  const losses = await Promise.all(pinging.map((p) => p.stop()));
  for (const [i, [sent, received]] of losses.entries()) {
    t.true(sent > 0 && received === sent, `pod ${pods[i]!.ip}: ${received} of ${sent} pings answered`);
  }
  t.deepEqual(await snapshot(), original, 'the agent stopped without touching the host network');
  for (const pod of pods) t.true(await pingsFromVpc(sims, pod.ip), `pod ${pod.ip} still answers`);
  const kept = exactJson(await readFile(backingStore, 'utf8'));
  t.is(kept.version, 'vpc-cni-ipam/1');
  t.deepEqual(
    byAddress(kept.allocations),
    byAddress(exactJson(written).allocations),
    "aws-node's checkpoint holds its pods as it wrote them",
  );
}

kernel.serial(
  'drop-in switch: the agent takes over a node aws-node set up (nftables connmark) without a host change',
  (t) => takeover(t, { connmark: 'nftables', config: DEFAULT_CONFIG }),
);

kernel.serial(
  'drop-in switch: the same with the iptables connmark chain (a legacy node, or aws-node before v1.23.0)',
  (t) => takeover(t, { connmark: 'iptables', config: DEFAULT_CONFIG }),
);

kernel.serial(
  'drop-in switch: SNAT exclusions, external service CIDRs, hashrandom, another mark and MTU 1500 (nftables)',
  (t) =>
    takeover(t, {
      connmark: 'nftables',
      config: {
        ...DEFAULT_CONFIG,
        AWS_VPC_ENI_MTU: 1500,
        AWS_VPC_K8S_CNI_CONNMARK: 0x100,
        AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom',
        AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ['172.16.0.0/12', '192.168.0.0/16'],
        AWS_EXTERNAL_SERVICE_CIDRS: ['198.51.100.0/24', '203.0.113.0/24'],
      },
    }),
);

kernel.serial(
  'drop-in switch: a pod whose runtime passed no Kubernetes names keeps its routing (veth eni + sha1("."))',
  (t) => takeover(t, { connmark: 'nftables', config: DEFAULT_CONFIG, nameless: true }),
);

kernel.serial('drop-in switch: prefix delegation, pods on /28s of both ENIs', (t) =>
  takeover(t, { connmark: 'nftables', config: DEFAULT_CONFIG, prefixDelegation: true }),
);

kernel.serial(
  'drop-in switch: another veth prefix (AWS_VPC_K8S_CNI_VETHPREFIX=veth), iptables and nftables',
  async (t) => {
    for (const connmark of ['nftables', 'iptables'] as const) {
      await takeover(t, { connmark, config: { ...DEFAULT_CONFIG, AWS_VPC_K8S_CNI_VETHPREFIX: 'veth' } });
    }
  },
);

kernel.serial('drop-in switch: IPv6 egress (ENABLE_V6_EGRESS): forwarding, accept_ra and the FORWARD reject', (t) =>
  takeover(t, { connmark: 'nftables', config: { ...DEFAULT_CONFIG, ENABLE_V6_EGRESS: true } }),
);

kernel.serial('drop-in switch: SNAT excluded everywhere (0.0.0.0/0), no port randomisation (iptables)', (t) =>
  takeover(t, {
    connmark: 'iptables',
    config: {
      ...DEFAULT_CONFIG,
      AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none',
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: ['0.0.0.0/0'],
    },
  }),
);

kernel.serial('drop-in switch: external SNAT, with and without NodePort support', async (t) => {
  for (const nodePort of [true, false]) {
    await takeover(t, {
      connmark: 'nftables',
      config: { ...DEFAULT_CONFIG, AWS_VPC_K8S_CNI_EXTERNALSNAT: true, AWS_VPC_CNI_NODE_PORT_SUPPORT: nodePort },
    });
  }
});
