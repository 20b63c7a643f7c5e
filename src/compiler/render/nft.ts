/**
 * nftables text for a table we own. `renderNftTable` prints exactly what `nft -s list table <family> <name>` prints
 * (tabs, a blank line between chains, named base priorities), so it is both the `nft -f` payload and the text the
 * live table is compared with.
 */
import type { NftChain, NftTable } from '../plan.ts';

// nft prints a base-chain priority relative to the nearest standard priority valid for the hook, within ±10.
const STANDARD_PRIORITIES: readonly { name: string; value: number; hooks: readonly string[] }[] = [
  { name: 'raw', value: -300, hooks: ['prerouting', 'input', 'forward', 'output', 'postrouting'] },
  { name: 'mangle', value: -150, hooks: ['prerouting', 'input', 'forward', 'output', 'postrouting'] },
  { name: 'dstnat', value: -100, hooks: ['prerouting', 'output'] },
  { name: 'filter', value: 0, hooks: ['prerouting', 'input', 'forward', 'output', 'postrouting'] },
  { name: 'security', value: 50, hooks: ['prerouting', 'input', 'forward', 'output', 'postrouting'] },
  { name: 'srcnat', value: 100, hooks: ['postrouting', 'input'] },
];

export function nftPriority(hook: string, priority: number): string {
  const standard = STANDARD_PRIORITIES.find((s) => s.hooks.includes(hook) && Math.abs(priority - s.value) <= 10);
  if (standard === undefined) return String(priority);
  const offset = priority - standard.value;
  if (offset === 0) return standard.name;
  return `${standard.name} ${offset > 0 ? '+' : '-'} ${Math.abs(offset)}`;
}

function renderChain(chain: NftChain): string[] {
  const lines = [`\tchain ${chain.name} {`];
  if (chain.base !== undefined) {
    const { type, hook, priority, policy } = chain.base;
    lines.push(`\t\ttype ${type} hook ${hook} priority ${nftPriority(hook, priority)}; policy ${policy};`);
  }
  lines.push(...chain.rules.map((rule) => `\t\t${rule}`), '\t}');
  return lines;
}

export function renderNftTable(table: Pick<NftTable, 'family' | 'name' | 'chains'>): string {
  const chains = table.chains.map(renderChain);
  const body = chains.flatMap((lines, i) => (i === 0 ? lines : ['', ...lines]));
  return [`table ${table.family} ${table.name} {`, ...body, '}', ''].join('\n');
}

/** Atomically replaces the table (one `nft -f` transaction: create-if-missing, delete, recreate). */
export function renderNftReplace(table: Pick<NftTable, 'family' | 'name' | 'chains'>): string {
  return `add table ${table.family} ${table.name}\ndelete table ${table.family} ${table.name}\n${renderNftTable(table)}`;
}

/** Deletes the table whether or not it exists. */
export function renderNftDelete(family: string, name: string): string {
  return `add table ${family} ${name}\ndelete table ${family} ${name}\n`;
}
