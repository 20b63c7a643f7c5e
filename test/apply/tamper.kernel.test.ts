import type { ExecutionContext } from 'ava';
import { apply } from '../../src/apply/apply.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.ts';
import { handPlan } from './fixtures.ts';

async function node(t: ExecutionContext): Promise<TestNetns> {
  const [ns, vpc] = await Promise.all([createNetns(t, 'tamper'), createNetns(t, 'tampervpc')]);
  await addVeth(ns, { name: 'eth0', mac: '02:00:00:00:01:05', cidr: '10.0.1.5/24', peer: vpc, peerName: 'vpc0' });
  await addVeth(ns, { name: 'eth1', mac: '02:00:00:00:02:10', peer: vpc, peerName: 'vpc1' });
  return ns;
}

async function snapshot(ns: TestNetns): Promise<string> {
  const parts = await Promise.all([
    ns.ip(['-4', '-d', 'addr']), // IPv6 link-local addresses change state on their own (DAD)
    ns.ip(['-4', 'route', 'show', 'table', 'all']),
    ns.ip(['rule']),
    ns.ip(['-6', 'rule']),
    ns.exec('iptables-save', []).then((s) => s.replace(/^#.*$/gm, '')),
    ns.exec('nft', ['list', 'ruleset']),
    ns.exec('cat', ['/proc/sys/net/ipv4/conf/eth0/rp_filter', '/proc/sys/net/ipv4/tcp_early_demux']),
  ]);
  return parts.join('\n---\n');
}

const TAMPERS: readonly [string, (plan: any) => void][] = [
  ['a newline in a route field', (p) => (p.routes[1].dev = 'eth1\nlink set eth0 down')],
  ['../ in a sysctl key', (p) => (p.sysctls[0].path = 'net/ipv4/conf/../../../kernel/x/rp_filter')],
  ['an injected nft table', (p) => (p.nftTables[0].chains[0].rules[0] = 'return\n}\n}\ntable ip evil {')],
];

for (const [what, edit] of TAMPERS) {
  kernel(`a plan with ${what} that got past the schema is refused by the renderer and changes nothing`, async (t) => {
    const ns = await node(t);
    const plan = structuredClone(handPlan()) as HostPlan;
    edit(plan);
    const before = await snapshot(ns);
    const error = await t.throwsAsync(apply(new Runner(namedNetns(ns.name)), plan), { instanceOf: ApplyError });
    t.regex(error.message, /refusing to render/);
    t.is(await snapshot(ns), before);
  });
}
