import test, { type ExecutionContext } from 'ava';
import { apply } from '../../src/apply/apply.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import { compileHostPlan, hostVethName } from '../../src/compiler/compile.ts';
import { testConfig } from '../../src/compiler/config/index.ts';
import { type NodeFacts, parseNodeFacts } from '../../src/compiler/facts.ts';
import { addVeth, canCreateNetns, createNetns, type TestNetns } from '../helpers/netns.ts';

/**
 * Packets through a compiled and applied host plan. Four namespaces:
 *
 *   pod (10.0.1.50/32) ─veth─ node (eth0 10.0.1.10/24) ─veth─ vpc router (10.0.1.1, peer 10.0.5.5) ─veth─ internet (203.0.113.7)
 *
 * The vpc namespace plays the VPC fabric: it delivers the pod address (a secondary IP of the primary ENI) to the
 * ENI's MAC. The internet namespace only knows the way back to the node's primary address, as an internet gateway
 * does, so an internet reply reaches the pod only when the node SNATed the request. Each peer records the source
 * addresses it received in an nftables set, the test's packet capture; conntrack in the node shows the translation.
 */

const kernel = canCreateNetns ? test : test.skip; // creating namespaces needs root

const PRIMARY_MAC = '02:00:00:00:0a:10';
const PRIMARY_IP = '10.0.1.10';
const POD_IP = '10.0.1.50';
const ROUTER = '10.0.1.1';
const VPC_PEER = '10.0.5.5';
const INTERNET_GATEWAY = '203.0.113.1';
const INTERNET = '203.0.113.7';
/** A second internet host, outside the exclusion CIDR of the exclusion case. */
const INTERNET_OTHER = '198.51.100.7';
const POD_GATEWAY = '169.254.1.1';

const facts: NodeFacts = parseNodeFacts(
  {
    version: 1,
    instanceId: 'i-0ac1e7000000f001',
    instanceType: 'm5.large',
    availabilityZone: 'us-west-2a',
    region: 'us-west-2',
    primaryMac: PRIMARY_MAC,
    localIpv4: PRIMARY_IP,
    enis: [
      {
        mac: PRIMARY_MAC,
        deviceNumber: 0,
        interfaceId: 'eni-0ac1e70000000001',
        subnetId: 'subnet-0ac1e7000000001',
        subnetCidr: '10.0.1.0/24',
        vpcCidrs: ['10.0.0.0/16'],
        localIpv4s: [PRIMARY_IP, POD_IP],
        interfaceName: 'eth0',
      },
    ],
  },
  'packets test snapshot',
);

interface Topology {
  readonly node: TestNetns;
  readonly pod: TestNetns;
  readonly vpc: TestNetns;
  readonly internet: TestNetns;
  readonly hostVeth: string;
}

/** Records every IPv4 source that sends this namespace an echo request (the peer's view of who is talking). */
async function capture(ns: TestNetns): Promise<void> {
  await ns.exec(
    'nft',
    ['-f', '-'],
    [
      'table ip capture {',
      '  set seen { type ipv4_addr; flags dynamic; }',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      '    icmp type echo-request add @seen { ip saddr }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

async function seen(ns: TestNetns): Promise<string[]> {
  const listing = JSON.parse(await ns.exec('nft', ['-j', 'list', 'set', 'ip', 'capture', 'seen'])) as {
    nftables: { set?: { elem?: (string | { elem: { val: string } })[] } }[];
  };
  const elems = listing.nftables.find((o) => o.set !== undefined)?.set?.elem ?? [];
  return elems.map((e) => (typeof e === 'string' ? e : e.elem.val)).toSorted();
}

/** The pod side as the reference's CNI wires it (§3.3): /32 address, gateway 169.254.1.1 with a static neighbour. */
async function wirePod(node: TestNetns, pod: TestNetns, hostVeth: string): Promise<void> {
  await addVeth(pod, { name: 'eth0', cidr: `${POD_IP}/32`, peer: node, peerName: hostVeth });
  const [link] = JSON.parse(await node.ip(['-j', 'link', 'show', 'dev', hostVeth])) as { address: string }[];
  await pod.ip(['route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link']);
  await pod.ip(['route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0']);
  await pod.ip(['neigh', 'add', POD_GATEWAY, 'lladdr', link!.address, 'dev', 'eth0', 'nud', 'permanent']);
}

async function topology(t: ExecutionContext): Promise<Topology> {
  const [node, pod, vpc, internet] = await Promise.all([
    createNetns(t, 'pktnode'),
    createNetns(t, 'pktpod'),
    createNetns(t, 'pktvpc'),
    createNetns(t, 'pktinet'),
  ]);
  await addVeth(node, {
    name: 'eth0',
    mac: PRIMARY_MAC,
    cidr: `${PRIMARY_IP}/24`,
    peer: vpc,
    peerName: 'vpc0',
    peerCidr: `${ROUTER}/24`,
  });
  await node.ip(['route', 'add', 'default', 'via', ROUTER, 'dev', 'eth0']);
  // Nothing in the reference writes ip_forward: it is assumed on (§2.2).
  await node.exec('sysctl', ['-q', '-w', 'net/ipv4/ip_forward=1']);

  await vpc.ip(['address', 'add', `${VPC_PEER}/32`, 'dev', 'lo']);
  // The VPC fabric delivers a secondary IP to the MAC of the ENI that holds it.
  await vpc.ip(['neigh', 'add', POD_IP, 'lladdr', PRIMARY_MAC, 'dev', 'vpc0', 'nud', 'permanent']);
  await addVeth(vpc, {
    name: 'igw0',
    cidr: `${INTERNET_GATEWAY}/24`,
    peer: internet,
    peerName: 'wan0',
    peerCidr: `${INTERNET}/24`,
  });
  await internet.ip(['address', 'add', `${INTERNET_OTHER}/32`, 'dev', 'lo']);
  await vpc.ip(['route', 'add', `${INTERNET_OTHER}/32`, 'via', INTERNET, 'dev', 'igw0']);
  await vpc.exec('sysctl', ['-q', '-w', 'net/ipv4/ip_forward=1']);
  // The internet side can answer the node's primary address only: an unSNATed pod address has no way back.
  await internet.ip(['route', 'add', `${PRIMARY_IP}/32`, 'via', INTERNET_GATEWAY, 'dev', 'wan0']);
  await Promise.all([capture(vpc), capture(internet)]);

  const hostVeth = hostVethName(testConfig().AWS_VPC_K8S_CNI_VETHPREFIX, 'default', 'packets');
  await wirePod(node, pod, hostVeth);
  return { node, pod, vpc, internet, hostVeth };
}

async function applyConfig(top: Topology, overrides: Record<string, string>): Promise<void> {
  const plan = compileHostPlan(testConfig(overrides), facts, [{ ip: POD_IP, hostVeth: top.hostVeth }]);
  await apply(new Runner(namedNetns(top.node.name)), plan);
  // A changed SNAT decision applies to new connections only; start every case from an empty table.
  await top.node.exec('conntrack', ['-F']);
}

async function ping(from: TestNetns, to: string, waitSeconds: number): Promise<boolean> {
  return from.exec('ping', ['-n', '-c1', `-W${waitSeconds}`, to]).then(
    () => true,
    () => false,
  );
}

interface Flow {
  readonly original: { readonly src: string; readonly dst: string };
  readonly reply: { readonly src: string; readonly dst: string };
  readonly mark: number;
}

/** ICMP connections the node's conntrack holds to `dst`, with both tuples. */
async function flows(node: TestNetns, dst: string): Promise<Flow[]> {
  const listing = await node.exec('conntrack', ['-L', '-p', 'icmp', '--orig-dst', dst]);
  return listing
    .split('\n')
    .filter((line) => line.startsWith('icmp'))
    .map((line) => {
      const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1]!);
      const dsts = [...line.matchAll(/\bdst=(\S+)/g)].map((m) => m[1]!);
      const mark = Number(/\bmark=(\d+)/.exec(line)?.[1] ?? 0);
      return { original: { src: src[0]!, dst: dsts[0]! }, reply: { src: src[1]!, dst: dsts[1]! }, mark };
    });
}

kernel('default config: VPC traffic keeps the pod address, internet traffic is SNATed to the primary IP', async (t) => {
  const top = await topology(t);
  await applyConfig(top, {});

  t.true(await ping(top.pod, VPC_PEER, 2), 'pod reaches the VPC peer');
  t.deepEqual(await seen(top.vpc), [POD_IP], 'the VPC peer sees the pod address');
  t.deepEqual(await flows(top.node, VPC_PEER), [
    { original: { src: POD_IP, dst: VPC_PEER }, reply: { src: VPC_PEER, dst: POD_IP }, mark: 0 },
  ]);

  t.true(await ping(top.pod, INTERNET, 2), 'pod reaches the internet address through SNAT');
  t.deepEqual(await seen(top.internet), [PRIMARY_IP], 'the internet peer sees the primary IP');
  // The connmark (0x80) sends the connection through the main table; the reply is addressed to the primary IP.
  t.deepEqual(await flows(top.node, INTERNET), [
    { original: { src: POD_IP, dst: INTERNET }, reply: { src: INTERNET, dst: PRIMARY_IP }, mark: 0x80 },
  ]);
});

kernel('AWS_VPC_K8S_CNI_EXTERNALSNAT=true re-applied: internet traffic leaves with the pod address', async (t) => {
  const top = await topology(t);
  await applyConfig(top, {});
  t.true(await ping(top.pod, INTERNET, 2), 'SNATed before the change');

  await applyConfig(top, { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' });
  await top.internet.exec('nft', ['flush', 'set', 'ip', 'capture', 'seen']);
  t.false(await ping(top.pod, INTERNET, 1), 'no way back to an unSNATed pod address');
  t.deepEqual(await seen(top.internet), [POD_IP], 'the internet peer sees the pod address');
  t.deepEqual(await flows(top.node, INTERNET), [
    { original: { src: POD_IP, dst: INTERNET }, reply: { src: INTERNET, dst: POD_IP }, mark: 0 },
  ]);
  t.true(await ping(top.pod, VPC_PEER, 2), 'VPC traffic is unaffected');
});

kernel(
  'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS covering an internet address exempts it, and only it, from SNAT',
  async (t) => {
    const top = await topology(t);
    await applyConfig(top, { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '203.0.113.0/24' });
    t.true(await ping(top.pod, INTERNET_OTHER, 2), 'an address outside the exclusion is still SNATed');
    t.deepEqual(await flows(top.node, INTERNET_OTHER), [
      { original: { src: POD_IP, dst: INTERNET_OTHER }, reply: { src: INTERNET_OTHER, dst: PRIMARY_IP }, mark: 0x80 },
    ]);
    await top.internet.exec('nft', ['flush', 'set', 'ip', 'capture', 'seen']);
    t.false(await ping(top.pod, INTERNET, 1), 'no way back to an unSNATed pod address');
    t.deepEqual(await seen(top.internet), [POD_IP], 'the internet peer sees the pod address');
    t.deepEqual(await flows(top.node, INTERNET), [
      { original: { src: POD_IP, dst: INTERNET }, reply: { src: INTERNET, dst: POD_IP }, mark: 0 },
    ]);
  },
);
