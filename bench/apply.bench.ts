// Applier benchmark (root; namespaces of its own, removed at the end):
// 1. Apply of a plan with 1,000 pod rules/routes and 50 CIDRs: batched apply vs one process per object, the
//    reference's approach (aws-node runs at least one netlink call or iptables process per rule).
// 2. A no-op `plan` on a node with 250 pods vs the raw cost of reading the same kernel state.
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { apply } from '../src/apply/apply.ts';
import { diff } from '../src/apply/diff.ts';
import { readForPlan } from '../src/apply/read.ts';
import { namedNetns, Runner } from '../src/apply/run.ts';
import type { HostPlan, IpRule, IptablesRule, Route } from '../src/compiler/plan.ts';
import { ipBatchLine } from '../src/compiler/render/index.ts';
import { handPlan } from '../test/apply/fixtures.ts';

const env = { PATH: '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin' };
const sh = (file: string, args: string[], input?: string) =>
  execa(file, args, input === undefined ? { env, stdin: 'ignore' } : { env, input });

async function withNode<T>(work: (name: string) => Promise<T>): Promise<T> {
  const name = `vc-bench-${randomBytes(4).toString('hex')}`;
  await sh('ip', ['netns', 'add', name]);
  try {
    const ip = (...args: string[]) => sh('ip', ['-n', name, ...args]);
    await ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peth0');
    await ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'peth1');
    await ip('link', 'set', 'eth0', 'address', '02:00:00:00:01:05');
    await ip('address', 'add', '10.0.1.5/24', 'dev', 'eth0');
    for (const dev of ['enia', 'enib']) {
      await ip('link', 'add', dev, 'type', 'veth', 'peer', 'name', `p${dev}`);
      await ip('link', 'set', dev, 'up');
    }
    return await work(name);
  } finally {
    await sh('ip', ['netns', 'del', name]);
  }
}

/** The fixture node with `pods` pods on the primary ENI and `cidrs` VPC CIDRs. */
function bigPlan(pods: number, cidrs: number): HostPlan {
  const base = handPlan({ vpcCidrs: Array.from({ length: cidrs }, (_, i) => `10.${i}.0.0/16`) });
  const ips = Array.from({ length: pods }, (_, i) => `10.200.${i >> 8}.${i & 255}/32`);
  const routes: Route[] = ips.map((dst) => ({
    kind: 'route',
    family: 'inet',
    table: 254,
    dst,
    dev: 'enia',
    scope: 'link',
    because: 'pod',
  }));
  const rules: IpRule[] = ips.map((to) => ({
    kind: 'rule',
    family: 'inet',
    priority: 512,
    table: 254,
    to,
    because: 'pod',
  }));
  return { ...base, routes: [...base.routes, ...routes], rules: [...base.rules, ...rules] };
}

/** The reference's way: a process per route, rule and iptables rule (without even its `-C` existence checks). */
async function perObject(name: string, plan: HostPlan): Promise<number> {
  let spawns = 0;
  const run = async (file: string, args: string[]) => {
    spawns++;
    await sh(file, args);
  };
  for (const link of plan.links) await run('ip', ['-n', name, ...ipBatchLine(link, 'add').split(' ')]);
  for (const address of plan.addresses) await run('ip', ['-n', name, ...ipBatchLine(address, 'add').split(' ')]);
  for (const route of plan.routes) await run('ip', ['-n', name, ...ipBatchLine(route, 'add').split(' ')]);
  for (const rule of plan.rules) await run('ip', ['-n', name, ...ipBatchLine(rule, 'add').split(' ')]);
  for (const chain of plan.iptablesChains)
    await run('ip', ['netns', 'exec', name, 'iptables', '-t', chain.table, '-N', chain.name]);
  for (const rule of plan.iptablesRules as IptablesRule[]) {
    await run('ip', ['netns', 'exec', name, 'iptables', '-t', rule.table, '-A', rule.chain, ...rule.args]);
  }
  return spawns;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: performance.now() - start, value };
}

const plan = bigPlan(1000, 50);
const objects = plan.routes.length + plan.rules.length + plan.iptablesRules.length;
const batched = await withNode(async (name) => {
  const runner = new Runner(namedNetns(name));
  const { ms } = await timed(() => apply(runner, plan));
  return { ms, spawns: runner.spawns };
});
const baseline = await withNode(async (name) => {
  const { ms, value } = await timed(() => perObject(name, plan));
  return { ms, spawns: value };
});
console.log(`apply of ${objects} routes/rules/iptables rules (1,000 pods, 50 CIDRs), including read and verify:`);
console.log(
  `  batched apply      ${batched.ms.toFixed(0).padStart(7)} ms  ${String(batched.spawns).padStart(5)} processes`,
);
console.log(
  `  one process/object ${baseline.ms.toFixed(0).padStart(7)} ms  ${String(baseline.spawns).padStart(5)} processes`,
);
console.log(
  `  ratio: ${(baseline.ms / batched.ms).toFixed(1)}x faster, ${(baseline.spawns / batched.spawns).toFixed(0)}x fewer processes`,
);

const ROUNDS = 10;
await withNode(async (name) => {
  const runner = new Runner(namedNetns(name));
  const node = bigPlan(250, 3);
  await apply(runner, node);
  const noop = await timed(async () => {
    for (let i = 0; i < ROUNDS; i++)
      if (diff(node, await readForPlan(runner, node)).length !== 0) throw new Error('not a no-op');
  });
  // The same kernel reads, output discarded: what any reader of this state must pay.
  const raw = await timed(async () => {
    for (let i = 0; i < ROUNDS; i++) {
      await Promise.all([
        sh('ip', ['-n', name, '-json', 'addr', 'show']),
        ...['-4', '-6'].flatMap((f) => [
          sh('ip', ['-n', name, f, '-json', '-d', 'route', 'show', 'table', 'all']),
          sh('ip', ['-n', name, f, '-json', 'rule', 'show']),
        ]),
        sh('nsenter', [`--net=/var/run/netns/${name}`, 'iptables-save']),
        sh('nsenter', [`--net=/var/run/netns/${name}`, 'ip6tables-save']),
        sh('nsenter', [`--net=/var/run/netns/${name}`, 'nft', '-s', '-y', 'list', 'ruleset']),
        sh('nsenter', [
          `--net=/var/run/netns/${name}`,
          'grep',
          '-H',
          '',
          ...node.sysctls.map((s) => `/proc/sys/${s.path}`),
        ]),
      ]);
    }
  });
  console.log(`no-op plan on a node with 250 pods (mean of ${ROUNDS}):`);
  console.log(`  read + diff        ${(noop.ms / ROUNDS).toFixed(1).padStart(7)} ms`);
  console.log(`  raw kernel reads   ${(raw.ms / ROUNDS).toFixed(1).padStart(7)} ms`);
  console.log(`  ratio: plan costs ${(noop.ms / raw.ms).toFixed(2)}x the raw read`);
});
