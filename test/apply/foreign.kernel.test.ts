import { apply } from '../../src/apply/apply.ts';
import { diff } from '../../src/apply/diff.ts';
import { readForPlan } from '../../src/apply/read.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { addVeth, createNetns } from '../helpers/netns.ts';
import { handPlan } from './fixtures.ts';

/** Foreign rules in every quoting form iptables-save prints: bare quotes, escaped quotes, spaces, odd comments. */
const FOREIGN: readonly (readonly string[])[] = [
  ['-A', 'INPUT', '-i', 'x"y', '-j', 'ACCEPT'],
  ['-A', 'INPUT', '-i', "a'b", '-j', 'ACCEPT'],
  ['-A', 'INPUT', '-m', 'comment', '--comment', 'say "hi" \\ there', '-j', 'ACCEPT'],
  ['-A', 'INPUT', '-m', 'comment', '--comment', '{ } ; # $(id) `x`', '-j', 'ACCEPT'],
  ['-A', 'INPUT', '-m', 'comment', '--comment', "it's", '-j', 'ACCEPT'],
  ['-A', 'INPUT', '-m', 'comment', '--comment', '"', '-j', 'ACCEPT'],
  ['-t', 'nat', '-A', 'POSTROUTING', '-o', 'q"', '-m', 'comment', '--comment', 'AWS "SNAT', '-j', 'RETURN'],
];

kernel('foreign rules with every quoting form iptables-save prints do not stop plan, and survive apply', async (t) => {
  const [ns, vpc] = await Promise.all([createNetns(t, 'foreign'), createNetns(t, 'foreignvpc')]);
  await addVeth(ns, { name: 'eth0', mac: '02:00:00:00:01:05', cidr: '10.0.1.5/24', peer: vpc, peerName: 'vpc0' });
  await addVeth(ns, { name: 'eth1', mac: '02:00:00:00:02:10', peer: vpc, peerName: 'vpc1' });
  for (const pod of ['enia', 'enib']) {
    await ns.ip(['link', 'add', pod, 'type', 'veth', 'peer', 'name', `p${pod}`]);
    await ns.ip(['link', 'set', pod, 'up']);
  }
  for (const rule of FOREIGN) await ns.exec('iptables', [...rule]);
  await ns.exec('nft', ['add', 'table', 'ip', 'other']);
  await ns.exec('nft', ['add', 'chain', 'ip', 'other', 'c', '{', 'comment', '"} { ; odd"', ';', '}']);
  const foreignOf = async () =>
    (await ns.exec('iptables-save', []))
      .split('\n')
      .filter((l) => /^-A (INPUT|POSTROUTING) .*-j (ACCEPT|RETURN)$/.test(l));
  const before = await foreignOf();
  t.is(before.length, FOREIGN.length);
  const runner = new Runner(namedNetns(ns.name));
  const plan = handPlan();
  t.true(diff(plan, await readForPlan(runner, plan)).length > 0, 'plan reads the node and finds work');
  await apply(runner, plan);
  t.deepEqual(diff(plan, await readForPlan(runner, plan)), []);
  t.deepEqual(await foreignOf(), before);
  t.regex(await ns.exec('nft', ['list', 'table', 'ip', 'other']), /odd/);
});
