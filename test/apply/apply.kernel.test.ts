import test, { type ExecutionContext } from 'ava';
import { apply } from '../../src/apply/apply.ts';
import { diff } from '../../src/apply/diff.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import { readForPlan } from '../../src/apply/read.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { addVeth, canCreateNetns, createNetns, type TestNetns } from '../helpers/netns.ts';
import { handPlan } from './fixtures.ts';

const kernel = canCreateNetns ? test : test.skip; // creating namespaces needs root

/** A node namespace: eth0 (primary, addressed) and eth1 (secondary, bare) with the fixture's MACs, two pod veths. */
async function node(t: ExecutionContext): Promise<{ ns: TestNetns; vpc: TestNetns; runner: Runner }> {
  const [ns, vpc] = await Promise.all([createNetns(t, 'apply'), createNetns(t, 'vpc')]);
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
  return { ns, vpc, runner: new Runner(namedNetns(ns.name)) };
}

async function pending(runner: Runner, plan: HostPlan) {
  return diff(plan, await readForPlan(runner, plan));
}

kernel('apply converges a bare node to the plan, then plans nothing', async (t) => {
  const { ns, runner } = await node(t);
  const plan = handPlan();
  const result = await apply(runner, plan);
  t.true(result.applied);
  t.deepEqual(await pending(runner, plan), []);
  const save = await ns.exec('iptables-save', []);
  t.regex(save, /-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0/);
  t.regex(save, /-A AWS-SNAT-CHAIN-0 .* -j SNAT --to-source 10\.0\.1\.5 --random-fully/);
  t.regex(await ns.ip(['rule']), /1536:\s+from 10\.0\.2\.21 lookup 2/);
  t.regex(await ns.ip(['route', 'show', 'table', '2']), /default via 10\.0\.2\.1 dev eth1/);
  t.notRegex(await ns.ip(['route', 'show', 'table', 'main']), /10\.0\.2\.0\/24/);
  t.regex(await ns.exec('nft', ['list', 'table', 'ip', 'aws-cni']), /jump snat-mark/);
  t.is((await ns.exec('cat', ['/proc/sys/net/ipv4/conf/eth0/rp_filter'])).trim(), '2');
});
