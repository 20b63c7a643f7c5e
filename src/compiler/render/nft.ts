/**
 * nftables text for a table we own. `renderNftTable` prints exactly what `nft -s list table <family> <name>` prints
 * (tabs, a blank line between chains, named base priorities), so it is both the `nft -f` payload and the text the
 * live table is compared with.
 */
import type { NftChain, NftTable } from '../plan.ts';
import { ensure, isNftIdentifier, isNftPriority, isNftRule, NFT_HOOKS } from './grammar.ts';

const FAMILIES: readonly string[] = ['ip', 'ip6', 'inet'];

function checkTable(family: string, name: string): void {
  ensure((f: string) => FAMILIES.includes(f), 'nft family', family);
  ensure(isNftIdentifier, 'nft table', name);
}

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
  ensure(isNftIdentifier, 'nft chain', chain.name);
  for (const rule of chain.rules) ensure(isNftRule, 'nft rule', rule);
  const lines = [`\tchain ${chain.name} {`];
  if (chain.base !== undefined) {
    const { type, hook, priority, policy } = chain.base;
    ensure((t: string) => t === 'nat' || t === 'filter', 'nft chain type', type);
    ensure((h: string) => NFT_HOOKS.includes(h), 'nft hook', hook);
    ensure(isNftPriority, 'nft priority', priority);
    ensure((p: string) => p === 'accept' || p === 'drop', 'nft policy', policy);
    lines.push(`\t\ttype ${type} hook ${hook} priority ${nftPriority(hook, priority)}; policy ${policy};`);
  }
  lines.push(...chain.rules.map((rule) => `\t\t${rule}`), '\t}');
  return lines;
}

export function renderNftTable(table: Pick<NftTable, 'family' | 'name' | 'chains'>): string {
  checkTable(table.family, table.name);
  const chains = table.chains.map(renderChain);
  const body = chains.flatMap((lines, i) => (i === 0 ? lines : ['', ...lines]));
  return [`table ${table.family} ${table.name} {`, ...body, '}', ''].join('\n');
}

/** Atomically replaces the table (one `nft -f` transaction: create-if-missing, delete, recreate). */
export function renderNftReplace(table: Pick<NftTable, 'family' | 'name' | 'chains'>): string {
  checkTable(table.family, table.name);
  return `add table ${table.family} ${table.name}\ndelete table ${table.family} ${table.name}\n${renderNftTable(table)}`;
}

/** Deletes the table whether or not it exists. */
export function renderNftDelete(family: string, name: string): string {
  checkTable(family, name);
  return `add table ${family} ${name}\ndelete table ${family} ${name}\n`;
}
