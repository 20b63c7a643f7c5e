import type { ExecutionContext } from 'ava';
import { apply } from '../../src/apply/apply.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import { compileHostPlan, hostVethName, type PodAssignment } from '../../src/compiler/compile.ts';
import { type Eni, type NodeFacts, parseNodeFacts } from '../../src/compiler/facts.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.ts';

/**
 * Packets through a compiled and applied host plan. Four namespaces:
 *
 *   pod ─veth─ node (eth0 10.0.1.10/24) ─veth─ vpc router (10.0.1.1, peer 10.0.5.5) ─veth─ internet (203.0.113.7)
 *              node (eth1 10.0.2.10/24) ─veth─ vpc router (10.0.2.1)                 [secondary-ENI cases only]
 *
 * The pod (a /32) holds either a secondary IP of the primary ENI (10.0.1.50, main table) or one of the secondary ENI
 * eth1 (10.0.2.50, route table 2). The vpc namespace plays the VPC fabric: it delivers a pod address to the MAC of
 * the ENI that holds it. The internet namespace only knows the way back to the node's primary address, as an
 * internet gateway does, so an internet reply reaches the pod only when the node SNATed the request. Each peer
 * records the source address and ingress interface of the echo requests it received (delivered, or forwarded by the
 * router) in nftables sets, the test's packet capture; conntrack in the node shows the translation and the mark.
 */

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

/** eth1: device 1 on card 0, hence route table 2; its subnet gateway is the network address + 1. */
const SECONDARY_MAC = '02:00:00:00:0a:20';
const SECONDARY_IP = '10.0.2.10';
const SECONDARY_GATEWAY = '10.0.2.1';
const SECONDARY_POD_IP = '10.0.2.50';
const SECONDARY_TABLE = 2;

const primaryEni: Eni = {
  mac: PRIMARY_MAC,
  deviceNumber: 0,
  networkCard: 0,
  interfaceId: 'eni-0ac1e70000000001',
  subnetId: 'subnet-0ac1e7000000001',
  subnetCidr: '10.0.1.0/24',
  subnetIpv6Cidrs: [],
  vpcCidrs: ['10.0.0.0/16'],
  localIpv4s: [PRIMARY_IP, POD_IP],
  ipv4Prefixes: [],
  ipv6s: [],
  ipv6Prefixes: [],
  interfaceName: 'eth0',
};

const secondaryEni: Eni = {
  ...primaryEni,
  mac: SECONDARY_MAC,
  deviceNumber: 1,
  interfaceId: 'eni-0ac1e70000000002',
  subnetId: 'subnet-0ac1e7000000002',
  subnetCidr: '10.0.2.0/24',
  localIpv4s: [SECONDARY_IP, SECONDARY_POD_IP],
  interfaceName: 'eth1',
};

/** The router's end of the link to an ENI. */
function routerLink(eni: Eni): string {
  return `vpc${eni.deviceNumber}`;
}

function nodeFacts(enis: readonly Eni[]): NodeFacts {
  return parseNodeFacts(
    {
      version: 1,
      instanceId: 'i-0ac1e7000000f001',
      instanceType: 'm5.large',
      availabilityZone: 'us-west-2a',
      region: 'us-west-2',
      primaryMac: PRIMARY_MAC,
      localIpv4: PRIMARY_IP,
      enis,
    },
    'packets test snapshot',
  );
}

interface Topology {
  readonly node: TestNetns;
  readonly pod: TestNetns;
  readonly vpc: TestNetns;
  readonly internet: TestNetns;
  readonly hostVeth: string;
  readonly facts: NodeFacts;
  readonly assignment: PodAssignment;
}

/**
 * Records every IPv4 source and ingress interface of the echo requests this namespace receives (`seen`) or forwards
 * (`passed`): the peer's view of who is talking and which link it came over.
 */
async function capture(ns: TestNetns): Promise<void> {
  await ns.exec(
    'nft',
    ['-f', '-'],
    [
      'table ip capture {',
      '  set seen { type ipv4_addr . ifname; flags dynamic; }',
      '  set passed { type ipv4_addr . ifname; flags dynamic; }',
      '  chain input {',
      '    type filter hook input priority 0; policy accept;',
      '    icmp type echo-request add @seen { ip saddr . iifname }',
      '  }',
      '  chain forward {',
      '    type filter hook forward priority 0; policy accept;',
      '    icmp type echo-request add @passed { ip saddr . iifname }',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

/** `<source> via <ingress interface>` for each echo request recorded in `set`, sorted. */
async function arrivals(ns: TestNetns, set: 'seen' | 'passed'): Promise<string[]> {
  const listing = JSON.parse(await ns.exec('nft', ['-j', 'list', 'set', 'ip', 'capture', set])) as {
    nftables: { set?: { elem?: ({ concat: [string, string] } | { elem: { val: { concat: [string, string] } } })[] } }[];
  };
  const elems = listing.nftables.find((o) => o.set !== undefined)?.set?.elem ?? [];
  return elems
    .map((e) => ('concat' in e ? e.concat : e.elem.val.concat))
    .map(([src, dev]) => `${src} via ${dev}`)
    .toSorted();
}

/** The sources that sent this namespace an echo request, whichever link they came over. */
async function seen(ns: TestNetns): Promise<string[]> {
  return (await arrivals(ns, 'seen')).map((a) => a.split(' ')[0]!);
}

async function forget(ns: TestNetns): Promise<void> {
  await ns.exec('nft', ['flush', 'set', 'ip', 'capture', 'seen']);
  await ns.exec('nft', ['flush', 'set', 'ip', 'capture', 'passed']);
}

/**
 * The VPC's source/destination check: a link accepts only the addresses its ENI holds, so a packet that leaves the
 * node through the wrong ENI is dropped, as EC2 drops it.
 */
async function sourceCheck(vpc: TestNetns, enis: readonly Eni[]): Promise<void> {
  const checks = enis.map(
    (eni) => `    iifname "${routerLink(eni)}" ip saddr != { ${eni.localIpv4s.join(', ')} } drop`,
  );
  await vpc.exec(
    'nft',
    ['-f', '-'],
    [
      'table ip fabric {',
      '  chain prerouting {',
      '    type filter hook prerouting priority raw; policy accept;',
      ...checks,
      '  }',
      '}',
      '',
    ].join('\n'),
  );
}

/** The pod side as the reference's CNI wires it (§3.3): /32 address, gateway 169.254.1.1 with a static neighbour. */
async function wirePod(node: TestNetns, pod: TestNetns, hostVeth: string, podIp: string): Promise<void> {
  await addVeth(pod, { name: 'eth0', cidr: `${podIp}/32`, peer: node, peerName: hostVeth });
  const [link] = JSON.parse(await node.ip(['-j', 'link', 'show', 'dev', hostVeth])) as { address: string }[];
  await pod.ip(['route', 'add', POD_GATEWAY, 'dev', 'eth0', 'scope', 'link']);
  await pod.ip(['route', 'add', 'default', 'via', POD_GATEWAY, 'dev', 'eth0']);
  await pod.ip(['neigh', 'add', POD_GATEWAY, 'lladdr', link!.address, 'dev', 'eth0', 'nud', 'permanent']);
}

/**
 * Node, router and internet with the primary ENI only. A secondary ENI is a bare link here: its address, routes and
 * rule are the plan's to create.
 */
async function network(t: ExecutionContext, secondary: boolean) {
  const [node, vpc, internet] = await Promise.all([
    createNetns(t, 'pktnode'),
    createNetns(t, 'pktvpc'),
    createNetns(t, 'pktinet'),
  ]);
  await addVeth(node, {
    name: 'eth0',
    mac: PRIMARY_MAC,
    cidr: `${PRIMARY_IP}/24`,
    peer: vpc,
    peerName: routerLink(primaryEni),
    peerCidr: `${ROUTER}/24`,
  });
  await node.ip(['route', 'add', 'default', 'via', ROUTER, 'dev', 'eth0']);
  if (secondary) {
    await addVeth(node, {
      name: 'eth1',
      mac: SECONDARY_MAC,
      peer: vpc,
      peerName: routerLink(secondaryEni),
      peerCidr: `${SECONDARY_GATEWAY}/24`,
    });
  }
  // Nothing in the reference writes ip_forward: it is assumed on (§2.2).
  await node.exec('sysctl', ['-q', '-w', 'net/ipv4/ip_forward=1']);

  await vpc.ip(['address', 'add', `${VPC_PEER}/32`, 'dev', 'lo']);
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
  return { node, vpc, internet };
}

/** A pod holding the second address of `eni`, which the VPC fabric delivers to that ENI's MAC. */
async function topology(t: ExecutionContext, eni: Eni = primaryEni): Promise<Topology> {
  const onSecondary = eni !== primaryEni;
  const [{ node, vpc, internet }, pod] = await Promise.all([network(t, onSecondary), createNetns(t, 'pktpod')]);
  const podIp = eni.localIpv4s[1]!;
  await vpc.ip(['neigh', 'add', podIp, 'lladdr', eni.mac, 'dev', routerLink(eni)]);
  const enis = onSecondary ? [primaryEni, secondaryEni] : [primaryEni];
  await sourceCheck(vpc, enis);
  const hostVeth = hostVethName(testConfig().AWS_VPC_K8S_CNI_VETHPREFIX, 'default', 'packets');
  await wirePod(node, pod, hostVeth, podIp);
  return {
    node,
    pod,
    vpc,
    internet,
    hostVeth,
    facts: nodeFacts(enis),
    assignment: onSecondary ? { ip: podIp, hostVeth, eniTable: SECONDARY_TABLE } : { ip: podIp, hostVeth },
  };
}

async function applyConfig(top: Topology, overrides: Record<string, string>): Promise<void> {
  const plan = compileHostPlan(testConfig(overrides), top.facts, [top.assignment]);
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

/** The node's routing decision for a pod packet arriving on its host veth: `<dev> via <gateway>`. */
async function routeFromPod(top: Topology, dst: string, mark?: number): Promise<string> {
  const markArgs = mark === undefined ? [] : ['mark', String(mark)];
  const [route] = JSON.parse(
    await top.node.ip(['-j', 'route', 'get', dst, 'from', top.assignment.ip, 'iif', top.hostVeth, ...markArgs]),
  ) as { dev: string; gateway?: string }[];
  return `${route!.dev} via ${route!.gateway ?? 'none'}`;
}

type ConnmarkBackend = 'nft' | 'iptables';

/** Packets the connmark backend's set-mark rule has marked: nft `snat-mark` chain or nat `AWS-CONNMARK-CHAIN-0`. */
async function marked(node: TestNetns, backend: ConnmarkBackend): Promise<number> {
  if (backend === 'nft') {
    const chain = await node.exec('nft', ['list', 'chain', 'ip', 'aws-cni', 'snat-mark']);
    const line = chain.split('\n').find((l) => l.includes('ct mark set'));
    return Number(/packets (\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
  }
  const saved = await node.exec('iptables-save', ['-c', '-t', 'nat']);
  const line = saved.split('\n').find((l) => l.includes('-A AWS-CONNMARK-CHAIN-0') && l.includes('--set-xmark'));
  return Number(/^\[(\d+):/.exec(line ?? '')?.[1] ?? Number.NaN);
}

/** Whether the nft connmark table exists in the node (it must not next to the iptables chain, nor vice versa). */
async function hasNftConnmark(node: TestNetns): Promise<boolean> {
  return node.exec('nft', ['list', 'table', 'ip', 'aws-cni']).then(
    () => true,
    () => false,
  );
}

kernel('default config: VPC traffic keeps the pod address, internet traffic is SNATed to the primary IP', async (t) => {
  const top = await topology(t);
  await applyConfig(top, {});

  t.true(await ping(top.pod, VPC_PEER, 2), 'pod reaches the VPC peer');
  t.deepEqual(
    await arrivals(top.vpc, 'seen'),
    [`${POD_IP} via ${routerLink(primaryEni)}`],
    'the VPC peer sees the pod address',
  );
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
  await forget(top.internet);
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
    await forget(top.internet);
    t.false(await ping(top.pod, INTERNET, 1), 'no way back to an unSNATed pod address');
    t.deepEqual(await seen(top.internet), [POD_IP], 'the internet peer sees the pod address');
    t.deepEqual(await flows(top.node, INTERNET), [
      { original: { src: POD_IP, dst: INTERNET }, reply: { src: INTERNET, dst: POD_IP }, mark: 0 },
    ]);
  },
);

/** The connmark layouts: the nft table on an nf_tables node, the nat chain when iptables is (or is set to) legacy. */
const backends: readonly { readonly backend: ConnmarkBackend; readonly overrides: Record<string, string> }[] = [
  { backend: 'nft', overrides: {} },
  { backend: 'iptables', overrides: { VPC_CNI_IPTABLES_MODE: 'legacy' } },
];

for (const { backend, overrides } of backends) {
  const label = backend === 'nft' ? 'nft table ip aws-cni' : 'VPC_CNI_IPTABLES_MODE=legacy, AWS-CONNMARK-CHAIN-0';

  kernel(`secondary-ENI pod (${label}): VPC traffic leaves through eth1 with the pod address`, async (t) => {
    const top = await topology(t, secondaryEni);
    await applyConfig(top, overrides);
    t.is(await hasNftConnmark(top.node), backend === 'nft', 'exactly one connmark backend is in place');

    // from 10.0.2.50 lookup 2 (1536): the ENI's own table, default via the subnet gateway.
    t.is(await routeFromPod(top, VPC_PEER), `eth1 via ${SECONDARY_GATEWAY}`);
    t.true(await ping(top.pod, VPC_PEER, 2), 'pod reaches the VPC peer');
    t.deepEqual(
      await arrivals(top.vpc, 'seen'),
      [`${SECONDARY_POD_IP} via ${routerLink(secondaryEni)}`],
      'the VPC peer sees the pod address, arriving from eth1',
    );
    t.deepEqual(await flows(top.node, VPC_PEER), [
      { original: { src: SECONDARY_POD_IP, dst: VPC_PEER }, reply: { src: VPC_PEER, dst: SECONDARY_POD_IP }, mark: 0 },
    ]);
    t.is(await marked(top.node, backend), 0, 'a VPC destination is exempt from the connmark');
  });

  kernel(`secondary-ENI pod (${label}): internet traffic is marked, leaves eth0 and is SNATed`, async (t) => {
    const top = await topology(t, secondaryEni);
    await applyConfig(top, overrides);

    // Unmarked, the pod's rule would send it out eth1; the mark makes fwmark 0x80 lookup main (1024) win.
    t.is(await routeFromPod(top, INTERNET), `eth1 via ${SECONDARY_GATEWAY}`);
    t.is(await routeFromPod(top, INTERNET, 0x80), `eth0 via ${ROUTER}`);
    t.true(await ping(top.pod, INTERNET, 2), 'the reply comes back to the pod');
    t.is(await marked(top.node, backend), 1, 'the connmark backend marked the connection');
    t.deepEqual(
      await arrivals(top.vpc, 'passed'),
      [`${PRIMARY_IP} via ${routerLink(primaryEni)}`],
      'the VPC fabric forwards it from eth0, SNATed to the primary IP',
    );
    t.deepEqual(await seen(top.internet), [PRIMARY_IP], 'the internet peer sees the primary IP');
    t.deepEqual(await flows(top.node, INTERNET), [
      { original: { src: SECONDARY_POD_IP, dst: INTERNET }, reply: { src: INTERNET, dst: PRIMARY_IP }, mark: 0x80 },
    ]);
  });
}
