/** The node namespace the applier's kernel tests share, and an exact snapshot of what an apply may touch. */
import type { ExecutionContext } from 'ava';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.ts';

/** A node namespace: eth0 (primary, addressed) and eth1 (secondary, bare) with the fixture's MACs, two pod veths. */
export async function handNode(t: ExecutionContext, area = 'apply'): Promise<{ ns: TestNetns; vpc: TestNetns }> {
  const [ns, vpc] = await Promise.all([createNetns(t, area), createNetns(t, `${area}vpc`)]);
  await addVeth(ns, {
    name: 'eth0',
    mac: '02:00:00:00:01:05',
    cidr: '10.0.1.5/24',
    peer: vpc,
    peerName: 'vpc0',
    peerCidr: '10.0.1.1/24',
  });
  await addVeth(ns, { name: 'eth1', mac: '02:00:00:00:02:10', peer: vpc, peerName: 'vpc1', peerCidr: '10.0.2.1/24' });
  for (const pod of ['enia', 'enib']) {
    await ns.ip(['link', 'add', pod, 'type', 'veth', 'peer', 'name', `p${pod}`]);
    await ns.ip(['link', 'set', pod, 'up']);
  }
  return { ns, vpc };
}

/**
 * Everything an apply of `plan` could change, as the tools print it: links (MTU, state), IPv4 addresses and routes of
 * every table, rules of both families, the whole iptables-save and nft ruleset (empty tables included), and the
 * plan's sysctls. Only what changes on its own is left out: packet counters, the save's timestamp comments, and
 * IPv6 addresses and routes (link-local ones follow DAD and MTU changes).
 */
export async function kernelSnapshot(ns: TestNetns, plan: HostPlan): Promise<Record<string, string>> {
  const [links, addresses, routes, rules, rules6, iptables, ip6tables, nft, sysctls] = await Promise.all([
    ns.ip(['-o', 'link', 'show']),
    ns.ip(['-4', '-o', 'address', 'show']),
    ns.ip(['-4', 'route', 'show', 'table', 'all']),
    ns.ip(['-4', 'rule', 'show']),
    ns.ip(['-6', 'rule', 'show']),
    ns.exec('iptables-save', []),
    ns.exec('ip6tables-save', []),
    ns.exec('nft', ['list', 'ruleset']),
    ns.exec('grep', ['-H', '', ...plan.sysctls.map((s) => `/proc/sys/${s.path}`)]),
  ]);
  const save = (text: string) => text.replace(/^#.*\n?/gm, '').replace(/\[\d+:\d+\]/g, '[counters]');
  const counters = (text: string) => text.replace(/counter packets \d+ bytes \d+/g, 'counter');
  return {
    links,
    addresses: addresses.replace(/valid_lft \S+ preferred_lft \S+/g, ''),
    routes,
    rules,
    rules6,
    iptables: save(iptables),
    ip6tables: save(ip6tables),
    nft: counters(nft),
    sysctls,
  };
}
