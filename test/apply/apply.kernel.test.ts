import type { ExecutionContext } from 'ava';
import { apply } from '../../src/apply/apply.ts';
import { diff } from '../../src/apply/diff.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import { readForPlan } from '../../src/apply/read.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import type { TestNetns } from '../helpers/netns.ts';
import { handPlan } from './fixtures.ts';
import { handNode, kernelSnapshot } from './kernel-node.ts';

async function node(t: ExecutionContext): Promise<{ ns: TestNetns; vpc: TestNetns; runner: Runner }> {
  const { ns, vpc } = await handNode(t);
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

kernel(
  'drift: rules deleted and sysctls reset by hand are exactly what the plan shows, and apply restores them',
  async (t) => {
    const { ns, runner } = await node(t);
    const plan = handPlan();
    await apply(runner, plan);
    await ns.ip(['rule', 'del', 'pref', '1536', 'from', '10.0.2.21', 'lookup', '2']);
    await ns.exec('iptables', ['-t', 'nat', '-D', 'AWS-SNAT-CHAIN-0', ...plan.iptablesRules[1]!.args]);
    await ns.exec('sysctl', ['-q', '-w', 'net/ipv4/conf/eth0/rp_filter=0']);
    const drift = await pending(runner, plan);
    t.deepEqual(
      drift.map((c) => `${c.kind} ${c.object.kind} ${c.reason}`),
      ['replace sysctl 0 → 2', 'add rule missing', 'add iptables-rule missing'],
    );
    await apply(runner, plan);
    t.deepEqual(await pending(runner, plan), []);
    t.regex(
      await ns.exec('iptables-save', ['-t', 'nat']),
      /-A AWS-SNAT-CHAIN-0 -d 10\.0\.0\.0\/16 .* -j RETURN\n-A AWS-SNAT-CHAIN-0 ! -o vlan\+/,
    );
  },
);

kernel('migration: state left by the reference plans zero changes', async (t) => {
  const { ns, runner } = await node(t);
  const plan = handPlan();
  // The reference's own steps: address, routes, rules one by one, iptables rules appended/inserted, nft table.
  await ns.ip(['address', 'add', '10.0.2.10/24', 'dev', 'eth1']);
  await ns.ip(['route', 'del', '10.0.2.0/24', 'dev', 'eth1', 'table', 'main']);
  await ns.ip(['route', 'replace', '10.0.2.1/32', 'dev', 'eth1', 'scope', 'link', 'table', '2']);
  await ns.ip(['route', 'replace', 'default', 'via', '10.0.2.1', 'dev', 'eth1', 'table', '2']);
  await ns.ip(['route', 'replace', '10.0.1.20', 'dev', 'enia', 'scope', 'link']);
  await ns.ip(['route', 'replace', '10.0.2.21', 'dev', 'enib', 'scope', 'link']);
  await ns.ip(['rule', 'add', 'to', '10.0.1.20', 'lookup', 'main', 'pref', '512']);
  await ns.ip(['rule', 'add', 'to', '10.0.2.21', 'lookup', 'main', 'pref', '512']);
  await ns.ip(['rule', 'add', 'fwmark', '0x80/0x80', 'lookup', 'main', 'pref', '1024']);
  await ns.ip(['rule', 'add', 'from', '10.0.2.21', 'lookup', '2', 'pref', '1536']);
  await ns.ip(['rule', 'add', 'from', '10.0.2.10', 'lookup', '2', 'pref', '32765']);
  await ns.ip(['link', 'set', 'eth0', 'mtu', '9001']);
  await ns.ip(['link', 'set', 'eth1', 'mtu', '9001']);
  await ns.exec('sysctl', ['-q', '-w', 'net/ipv4/conf/eth0/rp_filter=2', 'net/ipv4/tcp_early_demux=1']);
  const ipt = (...args: string[]) => ns.exec('iptables', args);
  await ipt('-t', 'nat', '-N', 'AWS-SNAT-CHAIN-0');
  await ipt('-t', 'nat', '-A', 'POSTROUTING', '-m', 'comment', '--comment', 'AWS SNAT CHAIN', '-j', 'AWS-SNAT-CHAIN-0');
  await ipt(
    '-t',
    'nat',
    '-I',
    'AWS-SNAT-CHAIN-0',
    '1',
    '-d',
    '10.0.0.0/16',
    '-m',
    'comment',
    '--comment',
    'AWS SNAT CHAIN',
    '-j',
    'RETURN',
  );
  await ipt(
    ...'-t nat -A AWS-SNAT-CHAIN-0 ! -o vlan+ -m comment --comment'.split(' '),
    'AWS, SNAT',
    ...'-m addrtype ! --dst-type LOCAL -j SNAT --to-source 10.0.1.5 --random-fully'.split(' '),
  );
  await ipt(
    ...'-t mangle -A PREROUTING -m comment --comment'.split(' '),
    'AWS, primary ENI',
    ...'-i eth0 -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-mark 0x80/0x80'.split(' '),
  );
  await ipt(
    ...'-t mangle -A PREROUTING -m comment --comment'.split(' '),
    'AWS, primary ENI',
    ...'-i eni+ -j CONNMARK --restore-mark --mask 0x80'.split(' '),
  );
  await ipt(
    ...'-t mangle -A PREROUTING -m comment --comment'.split(' '),
    'AWS, primary ENI',
    ...'-i vlan+ -j CONNMARK --restore-mark --mask 0x80'.split(' '),
  );
  await ns.exec(
    'nft',
    ['-f', '-'],
    [
      'table ip aws-cni {',
      '  chain nat-prerouting {',
      '    type nat hook prerouting priority -90; policy accept;',
      '    fib daddr type local return',
      '    iifname "eni*" counter jump snat-mark',
      '    counter meta mark set ct mark & 0x80',
      '  }',
      '  chain snat-mark {',
      '    counter ip daddr 10.0.0.0/16 return',
      '    counter ct mark set ct mark | 0x80',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  t.deepEqual(await pending(runner, plan), []);
});

kernel('config change: state owned under the old config is removed, foreign state survives', async (t) => {
  const { ns, runner } = await node(t);
  await apply(runner, handPlan());
  await ns.exec('iptables', ['-t', 'nat', '-N', 'KUBE-SERVICES']);
  await ns.exec('iptables', ['-t', 'nat', '-A', 'PREROUTING', '-j', 'KUBE-SERVICES']);
  await ns.ip(['rule', 'add', 'from', '10.9.0.0/16', 'lookup', '77', 'pref', '3000']);
  await ns.ip(['route', 'add', '10.9.0.0/16', 'dev', 'eth0', 'table', '77']);
  // New VPC CIDR list and veth prefix: the old RETURN rule, -i eni+ rule and nft jump must go.
  await ns.ip(['link', 'add', 'vetha', 'type', 'veth', 'peer', 'name', 'pvetha']);
  await ns.ip(['link', 'add', 'vethb', 'type', 'veth', 'peer', 'name', 'pvethb']);
  await ns.ip(['link', 'set', 'vetha', 'up']);
  await ns.ip(['link', 'set', 'vethb', 'up']);
  const changed = handPlan({ vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'], vethPrefix: 'veth' });
  // The compiler owns the previous veth prefix too, so pod routes on it are recognised as stale.
  const next = { ...changed, ownership: { ...changed.ownership, vethPrefixes: ['veth', 'eni'] } };
  const changes = await pending(runner, next);
  t.true(changes.some((c) => c.kind === 'replace' && c.object.kind === 'route' && c.reason === 'dev enia → vetha'));
  await apply(runner, next);
  const save = await ns.exec('iptables-save', []);
  t.notRegex(save, /-i eni\+/);
  t.regex(save, /-i veth\+ -m comment --comment "AWS, primary ENI"/);
  t.regex(save, /-A AWS-SNAT-CHAIN-0 -d 10\.1\.0\.0\/16 .*\n-A AWS-SNAT-CHAIN-0 -d 10\.0\.0\.0\/16/);
  t.regex(save, /:KUBE-SERVICES - \[0:0\]/);
  t.regex(save, /-A PREROUTING -j KUBE-SERVICES/);
  t.notRegex(await ns.ip(['route', 'show', 'table', 'main']), /enia/);
  t.regex(await ns.ip(['rule']), /3000:\s+from 10\.9\.0\.0\/16 lookup 77/);
  t.regex(await ns.ip(['route', 'show', 'table', '77']), /10\.9\.0\.0\/16 dev eth0/);
  t.regex(await ns.exec('nft', ['list', 'table', 'ip', 'aws-cni']), /iifname "veth\*"/);
});

kernel('rollback: a batch failing mid-apply leaves the namespace as it was before', async (t) => {
  const { ns, runner } = await node(t);
  const plan = handPlan();
  const before = await kernelSnapshot(ns, plan);
  // The ip batch and the first iptables table succeed; the nat restore then fails on an unknown target.
  const broken: HostPlan = {
    ...plan,
    iptablesRules: [...plan.iptablesRules, { ...plan.iptablesRules[0]!, args: ['-j', 'NO-SUCH-CHAIN'] }],
  };
  const error = await t.throwsAsync(apply(runner, broken), { instanceOf: ApplyError });
  t.is(error?.step, 'write');
  t.regex(error?.shortMessage ?? '', /iptables-restore batch failed at line \d+/);
  t.regex(error?.shortMessage ?? '', /Chain 'NO-SUCH-CHAIN' does not exist/);
  // iptables-nft reports the COMMIT line of the failing table (its transaction fails as a whole).
  t.true(
    error?.lines.some((l) => l.startsWith('>')),
    error?.message,
  );
  t.deepEqual(error?.rollback, { ok: true });
  t.regex(error?.message ?? '', /rolled back: re-read/);
  t.deepEqual(await kernelSnapshot(ns, plan), before);
});

kernel('rollback: a failing ip batch line is reported with its neighbours and undone', async (t) => {
  const { ns, runner } = await node(t);
  const plan = handPlan();
  const before = await kernelSnapshot(ns, plan);
  const broken: HostPlan = {
    ...plan,
    routes: [...plan.routes, { ...plan.routes[2]!, dst: '10.0.1.30/32', dev: 'nosuchdev' }],
  };
  const error = await t.throwsAsync(apply(runner, broken), { instanceOf: ApplyError });
  t.regex(error?.shortMessage ?? '', /ip -4 batch failed at line \d+: Cannot find device "nosuchdev"/);
  t.deepEqual(await kernelSnapshot(ns, plan), before);
});

kernel('apply spawns a constant number of processes whatever the plan size', async (t) => {
  const { runner } = await node(t);
  const before = runner.spawns;
  await apply(runner, handPlan());
  const spawned = runner.spawns - before;
  // read (8) + write (ip -4, iptables-restore, nft; sysctl -w) + verify read (8)
  t.true(spawned <= 22, `spawned ${spawned}`);
});
