import type { HostPlan, IptablesRule } from '../../src/compiler/plan.ts';

/**
 * A hand-written host plan shaped like the reference's state for a node with eth0 (primary, 10.0.1.5) and eth1
 * (device 1, table 2, 10.0.2.10), one pod on each ENI (host veths `enia` and `enib`). Written by hand, not compiled,
 * so applier tests do not depend on the compiler.
 */

const nat = (chain: string, ...args: string[]): IptablesRule => ({
  kind: 'iptables-rule',
  family: 'inet',
  table: 'nat',
  chain,
  args,
  because: 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
});
const mangle = (...args: string[]): IptablesRule => ({
  kind: 'iptables-rule',
  family: 'inet',
  table: 'mangle',
  chain: 'PREROUTING',
  args,
  because: 'AWS_VPC_CNI_NODE_PORT_SUPPORT',
});

export const SNAT_RULE = nat(
  'AWS-SNAT-CHAIN-0',
  ...'! -o vlan+ -m comment --comment'.split(' '),
  'AWS, SNAT',
  ...'-m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.5 --random-fully'.split(' '),
);

export function handPlan(options: { vpcCidrs?: string[]; vethPrefix?: string } = {}): HostPlan {
  const vpcCidrs = options.vpcCidrs ?? ['10.0.0.0/16'];
  const veth = options.vethPrefix ?? 'eni';
  const because = 'fact:test';
  return {
    version: 1,
    node: { instanceId: 'i-0123456789abcdef0', instanceType: 'm5.large', primaryInterface: 'eth0' },
    links: [
      { kind: 'link', name: 'eth0', mac: '02:00:00:00:01:05', mtu: 9001, up: true, because: 'AWS_VPC_ENI_MTU' },
      { kind: 'link', name: 'eth1', mac: '02:00:00:00:02:10', mtu: 9001, up: true, because: 'AWS_VPC_ENI_MTU' },
    ],
    sysctls: [
      { kind: 'sysctl', path: 'net/ipv4/conf/eth0/rp_filter', value: '2', because: 'fact:primary-interface' },
      { kind: 'sysctl', path: 'net/ipv4/tcp_early_demux', value: '1', because },
    ],
    addresses: [{ kind: 'address', dev: 'eth1', cidr: '10.0.2.10/24', because }],
    routes: [
      { kind: 'route', family: 'inet', table: 2, dst: '10.0.2.1/32', dev: 'eth1', scope: 'link', because },
      {
        kind: 'route',
        family: 'inet',
        table: 2,
        dst: '0.0.0.0/0',
        via: '10.0.2.1',
        dev: 'eth1',
        scope: 'global',
        because,
      },
      {
        kind: 'route',
        family: 'inet',
        table: 254,
        dst: '10.0.1.20/32',
        dev: `${veth}a`,
        scope: 'link',
        because: 'pod a',
      },
      {
        kind: 'route',
        family: 'inet',
        table: 254,
        dst: '10.0.2.21/32',
        dev: `${veth}b`,
        scope: 'link',
        because: 'pod b',
      },
    ],
    absentRoutes: [{ kind: 'absent-route', family: 'inet', table: 254, dst: '10.0.2.0/24', dev: 'eth1', because }],
    rules: [
      { kind: 'rule', family: 'inet', priority: 512, table: 254, to: '10.0.1.20/32', because: 'pod a' },
      { kind: 'rule', family: 'inet', priority: 512, table: 254, to: '10.0.2.21/32', because: 'pod b' },
      { kind: 'rule', family: 'inet', priority: 1024, table: 254, fwmark: { mark: 0x80, mask: 0x80 }, because },
      { kind: 'rule', family: 'inet', priority: 1536, table: 2, from: '10.0.2.21/32', because: 'pod b' },
      { kind: 'rule', family: 'inet', priority: 32765, table: 2, from: '10.0.2.10/32', because },
    ],
    iptablesChains: [{ kind: 'iptables-chain', family: 'inet', table: 'nat', name: 'AWS-SNAT-CHAIN-0', because }],
    iptablesRules: [
      nat('POSTROUTING', '-m', 'comment', '--comment', 'AWS SNAT CHAIN', '-j', 'AWS-SNAT-CHAIN-0'),
      ...vpcCidrs
        .toReversed()
        .map((cidr) =>
          nat('AWS-SNAT-CHAIN-0', '-d', cidr, '-m', 'comment', '--comment', 'AWS SNAT CHAIN', '-j', 'RETURN'),
        ),
      SNAT_RULE,
      mangle(
        ...'-i eth0 -m comment --comment'.split(' '),
        'AWS, primary ENI',
        ...'-m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80'.split(' '),
      ),
      mangle(
        ...`-i ${veth}+ -m comment --comment`.split(' '),
        'AWS, primary ENI',
        ...'-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80'.split(' '),
      ),
      mangle(
        ...'-i vlan+ -m comment --comment'.split(' '),
        'AWS, primary ENI',
        ...'-j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80'.split(' '),
      ),
    ],
    nftTables: [
      {
        kind: 'nft-table',
        family: 'ip',
        name: 'aws-cni',
        because: 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
        chains: [
          {
            name: 'nat-prerouting',
            base: { type: 'nat', hook: 'prerouting', priority: -90, policy: 'accept' },
            rules: [
              'fib daddr type local return',
              `iifname "${veth}*" counter jump snat-mark`,
              'counter meta mark set ct mark & 0x00000080',
            ],
          },
          {
            name: 'snat-mark',
            rules: [...vpcCidrs.map((c) => `counter ip daddr ${c} return`), 'counter ct mark set ct mark | 0x00000080'],
          },
        ],
      },
    ],
    ownership: {
      rulePriorities: [512, 1024, 1535, 1536, 32765],
      routeTables: [2],
      iptablesChainPrefixes: ['AWS-SNAT-CHAIN-', 'AWS-CONNMARK-CHAIN-'],
      iptablesComments: [
        'AWS SNAT CHAIN',
        'AWS SNAT CHAIN EXCLUSION',
        'AWS, SNAT',
        'AWS, primary ENI',
        'AWS, outbound connections',
        'AWS, CONNMARK',
        'AWS CONNMARK CHAIN',
      ],
      nftTables: ['ip aws-cni'],
      vethPrefixes: [veth],
    },
  };
}
