/**
 * Golden cases of the host plan compiler, one row per behaviour of the reference: each row lists plan lines (as
 * `describe` prints them) that must be present and lines that must be absent.
 */
import test from 'ava';
import { compileHostPlan, hostVethName, PlanError, type PodAssignment } from '../../src/compiler/compile.ts';
import type { NodeFacts } from '../../src/compiler/facts.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { describe } from '../../src/compiler/render/index.ts';
import { exampleNode, ipv4Config, ipv6Config } from './fixtures.ts';

function lines(plan: HostPlan): string[] {
  return [
    ...plan.links,
    ...plan.sysctls,
    ...plan.addresses,
    ...plan.routes,
    ...plan.absentRoutes,
    ...plan.rules,
    ...(plan.absentRules ?? []),
    ...plan.iptablesChains,
    ...plan.iptablesRules,
  ].map(describe);
}

interface Case {
  readonly facts: NodeFacts;
  readonly config: ReturnType<typeof ipv4Config>;
  readonly pods?: PodAssignment[];
  readonly has?: readonly string[];
  readonly lacks?: readonly string[];
  /** Expected number of nft tables (connmark backend), when the row is about it. */
  readonly nftTables?: number;
}

const three = exampleNode('three-eni-two-cidrs');
const single = exampleNode('m5-large-single-eni');
const SNAT_JUMP = 'iptables -t nat -A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0';
const FWMARK = 'rule 1024: from all fwmark 0x80/0x80 lookup main';
const SET_MARK =
  'iptables -t mangle -A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80';
const RESTORE_ENI =
  'iptables -t mangle -A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80';
const RESTORE_VLAN =
  'iptables -t mangle -A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80';
const SNAT = (flag: string) =>
  `iptables -t nat -A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.10.40.5${flag}`;

const plans = test.macro({
  exec(t, c: Case) {
    const plan = compileHostPlan(c.config, c.facts, c.pods);
    const all = lines(plan);
    for (const line of c.has ?? []) t.true(all.includes(line), `missing: ${line}\n\nplan:\n${all.join('\n')}`);
    for (const line of c.lacks ?? []) t.false(all.includes(line), `unexpected: ${line}`);
    if (c.nftTables !== undefined) t.is(plan.nftTables.length, c.nftTables);
    t.deepEqual(compileHostPlan(c.config, c.facts, c.pods), plan, 'deterministic');
  },
  title: (name) => name ?? '',
});

test('EXTERNALSNAT=false NODEPORT=true: fwmark, SNAT chain and all three mangle rules', plans, {
  facts: three,
  config: ipv4Config(),
  has: [FWMARK, SNAT_JUMP, SNAT(' --random-fully'), SET_MARK, RESTORE_ENI, RESTORE_VLAN],
});
test('EXTERNALSNAT=false NODEPORT=false: fwmark and SNAT, only the veth restore rule', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' }),
  has: [FWMARK, SNAT_JUMP, RESTORE_ENI],
  lacks: [SET_MARK, RESTORE_VLAN],
});
test('EXTERNALSNAT=true NODEPORT=true: fwmark and mangle kept, SNAT chain empty', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' }),
  has: [FWMARK, SET_MARK, RESTORE_ENI, RESTORE_VLAN, 'iptables -t nat -N AWS-SNAT-CHAIN-0'],
  lacks: [SNAT_JUMP, SNAT(' --random-fully')],
});
test('EXTERNALSNAT=true NODEPORT=false: no fwmark rule, no mangle rules, empty SNAT chain', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' }),
  has: ['iptables -t nat -N AWS-SNAT-CHAIN-0'],
  lacks: [FWMARK, SET_MARK, RESTORE_ENI, RESTORE_VLAN, SNAT_JUMP],
  nftTables: 0,
});
test('RANDOMIZESNAT=hashrandom uses --random', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom' }),
  has: [SNAT(' --random')],
});
test('RANDOMIZESNAT=none has no randomisation flag', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none' }),
  has: [SNAT('')],
  lacks: [SNAT(' --random'), SNAT(' --random-fully')],
});
test('exclusions are normalised RETURNs before the SNAT rule; external service CIDRs get rule 1535', plans, {
  facts: three,
  config: ipv4Config({
    AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '172.16.9.1/12',
    AWS_EXTERNAL_SERVICE_CIDRS: '198.51.100.0/24',
  }),
  has: [
    'iptables -t nat -A AWS-SNAT-CHAIN-0 -d 172.16.0.0/12 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
    'iptables -t nat -A AWS-SNAT-CHAIN-0 -d 10.10.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
    'iptables -t nat -A AWS-SNAT-CHAIN-0 -d 100.64.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
    'rule 1535: from all to 198.51.100.0/24 lookup main',
  ],
});
test('a 0.0.0.0/0 exclusion is a RETURN without -d', plans, {
  facts: three,
  config: ipv4Config({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '0.0.0.0/0' }),
  has: ['iptables -t nat -A AWS-SNAT-CHAIN-0 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN'],
});
test('legacy iptables: connmark in AWS-CONNMARK-CHAIN-0, no nft table', plans, {
  facts: { ...three, iptablesMode: 'legacy' },
  config: ipv4Config({ AWS_VPC_K8S_CNI_VETHPREFIX: 'veth', AWS_VPC_K8S_CNI_CONNMARK: '0x4000' }),
  has: [
    'iptables -t nat -N AWS-CONNMARK-CHAIN-0',
    'iptables -t nat -A PREROUTING -i veth+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0',
    'iptables -t nat -A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x4000 --ctmask 0x4000',
    'iptables -t nat -A AWS-CONNMARK-CHAIN-0 -d 10.10.0.0/16 -m comment --comment "AWS CONNMARK CHAIN" -j RETURN',
    'iptables -t nat -A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x4000/0x4000',
    'rule 1024: from all fwmark 0x4000/0x4000 lookup main',
  ],
  nftTables: 0,
});
test('nf_tables iptables: connmark in nft table ip aws-cni, no AWS-CONNMARK-CHAIN-0', plans, {
  facts: three,
  config: ipv4Config(),
  lacks: ['iptables -t nat -N AWS-CONNMARK-CHAIN-0'],
  nftTables: 1,
});
test('VPC_CNI_IPTABLES_MODE=legacy overrides a detected nf_tables backend', plans, {
  facts: three,
  config: ipv4Config({ VPC_CNI_IPTABLES_MODE: 'legacy' }),
  has: ['iptables -t nat -N AWS-CONNMARK-CHAIN-0'],
  nftTables: 0,
});
test('VPC_CNI_IPTABLES_MODE=nf_tables overrides a detected legacy backend', plans, {
  facts: { ...three, iptablesMode: 'legacy' },
  config: ipv4Config({ VPC_CNI_IPTABLES_MODE: 'nf_tables' }),
  lacks: ['iptables -t nat -N AWS-CONNMARK-CHAIN-0'],
  nftTables: 1,
});
test('secondary ENIs: address, table device+1, gateway and default routes, no subnet route, rule 32765', plans, {
  facts: three,
  config: ipv4Config(),
  has: [
    'link eth1 (0a:58:c3:00:10:02) mtu 9001 up',
    'address 100.64.12.10/18 dev eth1',
    'route 100.64.0.1/32 dev eth1 scope link table 2',
    'route 0.0.0.0/0 via 100.64.0.1 dev eth1 table 2',
    'no route 100.64.0.0/18 dev eth1 table main',
    'rule 32765: from 100.64.12.10/32 lookup 2',
    'rule 32765: from 100.64.70.4/32 lookup 3',
    'sysctl net/ipv4/conf/eth0/rp_filter = 2',
    'sysctl net/ipv4/tcp_early_demux = 1',
  ],
});

const multiCard: NodeFacts = {
  ...three,
  enis: [
    ...three.enis,
    { ...three.enis[2]!, mac: '0a:58:c3:00:20:01', networkCard: 1, deviceNumber: 1, interfaceName: 'eth3' },
  ],
};
test('ENABLE_MULTI_NIC: ENIs on other cards get table 10000+100·card+device', plans, {
  facts: multiCard,
  config: ipv4Config({ ENABLE_MULTI_NIC: 'true' }),
  has: ['route 0.0.0.0/0 via 100.64.64.1 dev eth3 table 10101', 'rule 32765: from 100.64.70.4/32 lookup 10101'],
});
test('without ENABLE_MULTI_NIC, ENIs on other cards are left alone', plans, {
  facts: multiCard,
  config: ipv4Config(),
  lacks: ['route 0.0.0.0/0 via 100.64.64.1 dev eth3 table 10101', 'link eth3 (0a:58:c3:00:20:01) mtu 9001 up'],
});
test('custom MTU and DISABLE_TCP_EARLY_DEMUX', plans, {
  facts: single,
  config: ipv4Config({ AWS_VPC_ENI_MTU: '1500', DISABLE_TCP_EARLY_DEMUX: 'true' }),
  has: ['link ens5 (02:4f:8e:12:34:01) mtu 1500 up', 'sysctl net/ipv4/tcp_early_demux = 0'],
});
test('pods: /32 route and rule 512 for every pod, rule 1536 only for pods on secondary ENIs', plans, {
  facts: three,
  config: ipv4Config(),
  pods: [
    { ip: '10.10.41.17', hostVeth: 'eni1a2b3c4d5e6' },
    { ip: '100.64.12.11', hostVeth: 'eni6f5e4d3c2b1', eniTable: 2 },
  ],
  has: [
    'route 10.10.41.17/32 dev eni1a2b3c4d5e6 scope link table main',
    'rule 512: from all to 10.10.41.17/32 lookup main',
    'route 100.64.12.11/32 dev eni6f5e4d3c2b1 scope link table main',
    'rule 512: from all to 100.64.12.11/32 lookup main',
    'rule 1536: from 100.64.12.11/32 lookup 2',
  ],
  lacks: ['rule 1536: from 10.10.41.17/32 lookup main'],
});
test('IPv6: ip -6 fwmark rule, IPv4 FORWARD reject, IPv6 sysctls, no SNAT or connmark', plans, {
  facts: exampleNode('ipv6'),
  config: ipv6Config(),
  has: [
    'rule -6 1024: from all fwmark 0x80/0x80 lookup main',
    'iptables -t filter -I FORWARD 1 -d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv4" -j REJECT --reject-with icmp-port-unreachable',
    'sysctl net/ipv6/conf/all/disable_ipv6 = 0',
    'sysctl net/ipv6/conf/all/forwarding = 1',
    'sysctl net/ipv6/conf/ens5/accept_ra = 2',
  ],
  lacks: [FWMARK, 'iptables -t nat -N AWS-SNAT-CHAIN-0'],
});
test('ENABLE_V6_EGRESS on an IPv4 node: ip6tables FORWARD reject and IPv6 forwarding', plans, {
  facts: single,
  config: ipv4Config({ ENABLE_V6_EGRESS: 'true' }),
  has: [
    'ip6tables -t filter -I FORWARD 1 -d fd00::ac:0/118 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv6" -j REJECT --reject-with icmp6-port-unreachable',
    'sysctl net/ipv6/conf/all/forwarding = 1',
  ],
  lacks: ['sysctl net/ipv6/conf/all/disable_ipv6 = 0'],
});
test('security groups for pods, strict: lookup local moves from 0 to 20', plans, {
  facts: three,
  config: ipv4Config({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'strict' }),
  has: ['rule 20: from all lookup local', 'no rule 0: from all lookup local'],
});
test('security groups for pods, standard: the local rule stays', plans, {
  facts: three,
  config: ipv4Config({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'standard' }),
  lacks: ['rule 20: from all lookup local', 'no rule 0: from all lookup local'],
});

test('ownership: pods owned only when known; tables of managed ENIs; markers of the reference', (t) => {
  const without = compileHostPlan(ipv4Config(), three).ownership;
  t.deepEqual(without.rulePriorities, [1024, 1535, 32765]);
  t.deepEqual(without.vethPrefixes, []);
  t.deepEqual(without.routeTables, [2, 3]);
  t.deepEqual(without.nftTables, ['ip aws-cni']);
  t.true(without.iptablesComments.includes('AWS, primary ENI'));
  const withPods = compileHostPlan(ipv4Config({ AWS_VPC_K8S_CNI_VETHPREFIX: 'veth' }), three, []).ownership;
  t.deepEqual(withPods.rulePriorities, [512, 1024, 1535, 1536, 32765]);
  t.deepEqual(withPods.vethPrefixes, ['veth']);
});

test('hostVethName follows the reference (sha1 of namespace.name, 11 hex digits)', (t) => {
  t.is(hostVethName('eni', 'kube-system', 'coredns-57ff979f67-qqbdh'), 'enib5faff8a083');
  t.is(hostVethName('vlan', 'kube-system', 'coredns-57ff979f67-qqbdh'), 'vlanb5faff8a083');
  t.not(hostVethName('eni', 'kube-system', 'coredns-57ff979f67-qqbdh', 1), 'enib5faff8a083');
});

test('a snapshot without interface names is refused with the ENI named', (t) => {
  const { interfaceName: _, ...eni } = three.enis[1]!;
  const facts = { ...three, enis: [three.enis[0]!, eni, three.enis[2]!] };
  const error = t.throws(() => compileHostPlan(ipv4Config(), facts), { instanceOf: PlanError });
  t.regex(error.message, /eni-0f9e8d7c6b5a40002 \(0a:58:c3:00:10:02\) has no interfaceName/);
});

test('IPv6 mode needs the ENI IPv6 facts of secondary ENIs', (t) => {
  const error = t.throws(() => compileHostPlan(ipv6Config(), three), { instanceOf: PlanError });
  t.regex(error.message, /eni-0f9e8d7c6b5a40002 \(eth1\): IPv6 mode needs/);
});
