import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { EXAMPLE_PAIRS, exampleConfig, examplePath } from '../../scripts/examples.ts';
import { main } from '../../src/cli/main.ts';
import { compileHostPlan } from '../../src/compiler/compile.ts';
import { type NodeFacts, parseNodeFacts } from '../../src/compiler/facts.ts';
import { ipBatchLine, iptablesRuleLine, ruleSelector } from '../../src/compiler/render/index.ts';
import { prefixLength } from '../../src/lib/address.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.ts';

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: (s: string) => {
      stdout += s;
    },
    stderr: (s: string) => {
      stderr += s;
    },
    env: {},
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}

async function facts(node: string): Promise<NodeFacts> {
  const file = examplePath(`nodes/${node}.json`);
  return parseNodeFacts(JSON.parse(await readFile(file, 'utf8')), file);
}

/**
 * A node namespace whose ENIs are veths carrying the snapshot's MACs (peers in a "VPC" namespace). The primary
 * interface gets a name the snapshot does not use, so the plan must find it by MAC; the primary address is set as
 * on a booted instance.
 */
async function nodeFor(t: ExecutionContext, node: NodeFacts): Promise<TestNetns> {
  const [ns, vpc] = await Promise.all([createNetns(t, 'ex'), createNetns(t, 'exvpc')]);
  for (const [i, eni] of node.enis.entries()) {
    const primary = eni.mac === node.primaryMac;
    const prefix = prefixLength(eni.subnetCidr);
    await addVeth(ns, {
      name: primary ? 'nic0' : eni.interfaceName!,
      mac: eni.mac,
      ...(primary ? { cidr: `${node.localIpv4}/${prefix}` } : {}),
      peer: vpc,
      peerName: `vpc${i}`,
    });
  }
  return ns;
}

for (const { node, config } of EXAMPLE_PAIRS) {
  kernel(
    `example ${node} × ${config}: apply converges, a second plan is empty, the kernel shows the plan`,
    async (t) => {
      const snapshot = await facts(node);
      const ns = await nodeFor(t, snapshot);
      const configMap = examplePath(`configs/${config}/configmap.yaml`);
      const args = ['--netns', ns.name, '--node', examplePath(`nodes/${node}.json`), '--configmap', configMap];
      const applied = await cli(['apply', ...args]);
      t.is(applied.code, 0, applied.stderr);
      const again = await cli(['plan', '--detailed-exitcode', ...args]);
      t.is(again.code, 0, again.stdout);

      const named = {
        ...snapshot,
        enis: snapshot.enis.map((e) => (e.mac === snapshot.primaryMac ? { ...e, interfaceName: 'nic0' } : e)),
      };
      const plan = compileHostPlan(await exampleConfig(config, 'configmap'), named);
      const [save, save6, rules, rules6, routes, routes6] = await Promise.all([
        ns.exec('iptables-save', []),
        ns.exec('ip6tables-save', []),
        ns.ip(['rule']),
        ns.ip(['-6', 'rule']),
        ns.ip(['route', 'show', 'table', 'all']),
        ns.ip(['-6', 'route', 'show', 'table', 'all']),
      ]);
      for (const rule of plan.iptablesRules) {
        t.true(
          (rule.family === 'inet' ? save : save6).includes(iptablesRuleLine(rule, 'append')),
          iptablesRuleLine(rule, 'append'),
        );
      }
      for (const rule of plan.rules) {
        t.true(
          (rule.family === 'inet' ? rules : rules6).includes(
            `${rule.priority}:\t${ruleSelector(rule).replace(/\/(32|128) /, ' ')}`,
          ),
          ruleSelector(rule),
        );
      }
      for (const route of plan.routes) {
        const shown =
          route.dst === '0.0.0.0/0' || route.dst === '::/0' ? 'default' : route.dst.replace(/\/(32|128)$/, '');
        t.regex(
          route.family === 'inet' ? routes : routes6,
          new RegExp(`^${shown.replaceAll('.', '\\.')} .*dev ${route.dev}`, 'm'),
          ipBatchLine(route, 'add'),
        );
      }
      for (const sysctl of plan.sysctls) {
        t.is(
          (await ns.exec('cat', [`/proc/sys/${sysctl.path}`])).trim().replace(/\s+/g, ' '),
          sysctl.value,
          sysctl.path,
        );
      }
      for (const table of plan.nftTables) {
        t.regex(await ns.exec('nft', ['list', 'table', table.family, table.name]), /chain snat-mark/);
      }
    },
  );
}

kernel('saved plan: apply FILE refuses when the live state drifted since, and applies when it did not', async (t) => {
  const node = 'three-eni-two-cidrs';
  const ns = await nodeFor(t, await facts(node));
  const file = join(tmpdir(), `${ns.name}.plan.json`);
  t.teardown(() => writeFile(file, ''));
  const args = ['--netns', ns.name, '--node', examplePath(`nodes/${node}.json`)];
  t.is((await cli(['plan', '--out', file, ...args])).code, 0);
  await ns.exec('sysctl', ['-q', '-w', 'net/ipv4/conf/nic0/rp_filter=2']);
  const refused = await cli(['apply', file]);
  t.is(refused.code, 1);
  t.regex(refused.stderr, /no longer matches the saved plan; nothing was applied/);
  t.regex(refused.stderr, /no longer applies: ~ sysctl net\/ipv4\/conf\/nic0\/rp_filter = 2/);
  t.regex(await ns.ip(['rule']), /^0:.*\n32766:/m, 'nothing was written');
  const planned = await cli(['plan', '--detailed-exitcode', '--out', file, ...args]);
  t.is(planned.code, 2);
  t.regex(planned.stdout, /Plan: \d+ to add, \d+ to change, \d+ to remove\./);
  const applied = await cli(['apply', file]);
  t.is(applied.code, 0, applied.stderr);
  t.is((await cli(['plan', '--detailed-exitcode', ...args])).code, 0);
});

kernel('invalid config: nothing is applied, exit 1 naming the key', async (t) => {
  const node = 'm5-large-single-eni';
  const ns = await nodeFor(t, await facts(node));
  const env = join(tmpdir(), `${ns.name}.env`);
  await writeFile(env, 'AWS_VPC_ENI_MTU=70000\n');
  const before = await ns.exec('iptables-save', []);
  const result = await cli([
    'apply',
    '--netns',
    ns.name,
    '--node',
    examplePath(`nodes/${node}.json`),
    '--environment-file',
    env,
  ]);
  t.is(result.code, 1);
  t.regex(result.stderr, /AWS_VPC_ENI_MTU/);
  t.is(await ns.exec('iptables-save', []), before);
});
