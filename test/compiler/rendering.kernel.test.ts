/**
 * Pins the renderers to the kernel tools: every iptables rule the compiler can produce (all plan variants) goes through
 * iptables-restore and comes back from iptables-save as the very same line; the nft table comes back from
 * `nft -s list table` as the very same text; the ip -batch payload of a three-ENI node is accepted and read back.
 * Runs as root in its own namespace `vc-render-<hex>`, removed even on failure.
 */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import type { HostPlan, IptablesRule, NftTable } from '../../src/compiler/plan.ts';
import {
  iptablesRuleLine,
  renderIpBatches,
  renderIptablesRestore,
  renderNftDelete,
  renderNftReplace,
  renderNftTable,
} from '../../src/compiler/render/index.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { planVariants } from './fixtures.ts';

const netns = `vc-render-${randomBytes(4).toString('hex')}`;
// Absolute: under npm/npx, node_modules/.bin comes first in PATH and holds @vercel/nft's unrelated `nft`.
const NFT = '/usr/sbin/nft';
const inNetns = (file: string, args: string[], input?: string) =>
  execa('ip', ['netns', 'exec', netns, file, ...args], input === undefined ? {} : { input });

kernel.before(async () => {
  await execa('ip', ['netns', 'add', netns]);
});
kernel.afterAlways(async () => {
  await execa('ip', ['netns', 'del', netns], { reject: false });
});

const variants = planVariants();

function unique<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

/** The `-A` lines of one chain in iptables-save output, in order. */
function savedRules(save: string, chain: string): string[] {
  return save.split('\n').filter((l) => l.startsWith(`-A ${chain} `));
}

const backends = [
  { family: 'inet', restore: 'iptables-nft-restore', save: 'iptables-nft-save' },
  { family: 'inet', restore: 'iptables-legacy-restore', save: 'iptables-legacy-save' },
  { family: 'inet6', restore: 'ip6tables-nft-restore', save: 'ip6tables-nft-save' },
] as const;

for (const backend of backends) {
  kernel.serial(`${backend.restore}: every planned rule reads back from ${backend.save} verbatim`, async (t) => {
    const rules = unique(
      variants.flatMap((v) => v.plan.iptablesRules.filter((r) => r.family === backend.family)),
      (r) => `${r.table} ${iptablesRuleLine(r, 'append')}`,
    );
    t.true(rules.length > 0, 'the variants produce rules of this family');
    const tables = [...new Set(rules.map((r) => r.table))];
    for (const table of tables) {
      const inTable = rules.filter((r) => r.table === table);
      const chains = [...new Set(inTable.map((r) => r.chain))];
      const ours = chains.filter((c) => c.startsWith('AWS-'));
      // Appends only: position only matters against foreign rules, and the round trip is about text.
      const payload = renderIptablesRestore({
        table,
        declare: ours,
        lines: inTable.map((r) => iptablesRuleLine(r, 'append')),
      });
      await inNetns(backend.restore, ['--noflush'], payload);
      const save = (await inNetns(backend.save, ['-t', table])).stdout;
      for (const chain of chains) {
        const expected = inTable
          .filter((r: IptablesRule) => r.chain === chain)
          .map((r) => iptablesRuleLine(r, 'append'));
        t.deepEqual(savedRules(save, chain), expected, `${table}/${chain}`);
      }
      // Delete lines address the same rules: afterwards the chains are empty again.
      const deletes = inTable.map((r) => iptablesRuleLine(r, 'delete'));
      await inNetns(
        backend.restore,
        ['--noflush'],
        renderIptablesRestore({ table, lines: deletes, deleteChains: ours }),
      );
      const after = (await inNetns(backend.save, ['-t', table])).stdout;
      t.deepEqual(
        chains.flatMap((c) => savedRules(after, c)),
        [],
        `${table} emptied by -D lines`,
      );
    }
  });
}

kernel.serial(
  'nft -f of each planned table reads back from nft -s list table verbatim, and replaces atomically',
  async (t) => {
    const tables = unique(
      variants.flatMap((v) => v.plan.nftTables),
      (table: NftTable) => renderNftTable(table),
    );
    t.true(tables.length >= 3, 'variants cover several marks, prefixes and exemptions');
    for (const table of tables) {
      await inNetns(NFT, ['-f', '-'], renderNftReplace(table));
      await inNetns(NFT, ['-f', '-'], renderNftReplace(table)); // a second replace is a no-op, not an error
      const listed = (await inNetns(NFT, ['-s', 'list', 'table', table.family, table.name])).stdout;
      t.is(`${listed}\n`, renderNftTable(table));
    }
    await inNetns(NFT, ['-f', '-'], renderNftDelete('ip', 'aws-cni'));
    await inNetns(NFT, ['-f', '-'], renderNftDelete('ip', 'aws-cni')); // deleting a missing table succeeds
    const remaining = (await inNetns(NFT, ['list', 'tables'])).stdout;
    t.false(remaining.includes('aws-cni'));
  },
);

kernel.serial('ip -batch lines of a three-ENI plan with pods are accepted and read back', async (t) => {
  const plan: HostPlan = variants.find((v) => v.name === 'defaults')!.plan;
  // ENIs are emulated by veth links named like the snapshot's interfaces; pods by host veths.
  const links = [...plan.links.map((l) => l.name), ...plan.routes.filter((r) => r.table === 254).map((r) => r.dev)];
  for (const [i, name] of links.entries()) {
    await execa('ip', ['-n', netns, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `vcpeer${i}`]);
    await execa('ip', ['-n', netns, 'link', 'set', `vcpeer${i}`, 'up']);
    await execa('ip', ['-n', netns, 'link', 'set', name, 'up']); // host veths are up before their routes are added
  }
  const batches = renderIpBatches([
    ...plan.links.map((object) => ({ object, op: 'add' as const })),
    ...plan.addresses.map((object) => ({ object, op: 'add' as const })),
    ...plan.routes.map((object) => ({ object, op: 'add' as const })),
    ...plan.absentRoutes.map((object) => ({ object, op: 'add' as const })),
    ...plan.rules.map((object) => ({ object, op: 'add' as const })),
  ]);
  t.is(batches.inet6, '');
  await execa('ip', ['-n', netns, '-batch', '-'], { input: batches.inet });
  const rules = JSON.parse((await execa('ip', ['-n', netns, '-j', 'rule'])).stdout) as { priority: number }[];
  t.deepEqual(
    rules.map((r) => r.priority).filter((p) => p > 0 && p < 32766),
    plan.rules.map((r) => r.priority),
  );
  const main = (await execa('ip', ['-n', netns, 'route', 'show', 'table', 'main'])).stdout;
  for (const absent of plan.absentRoutes) t.false(main.includes(absent.dst), `${absent.dst} removed from main`);
  const table2 = (await execa('ip', ['-n', netns, 'route', 'show', 'table', '2'])).stdout;
  t.regex(table2, /default via 100\.64\.0\.1 dev eth1/);
});
