/**
 * `iptables-restore --noflush` payloads. Rule text is exactly what `iptables-save` prints for the rule, so a live
 * `iptables-save` line and a planned rule compare as strings (test/compiler/rendering.kernel.test.ts pins this).
 */
import type { IptablesRule, IptablesTable } from '../plan.ts';
import { ensure, isIptablesChain, isIptablesToken } from './grammar.ts';

const TABLES: readonly string[] = ['nat', 'mangle', 'filter'];

// iptables' xtables_save_string leaves a string bare only when it is made of these characters.
const BARE_SAVE_STRING = /^[A-Za-z0-9_-]+$/;
const NEEDS_QUOTES = /[\s"'\\]/;

function quote(value: string): string {
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Joins rule arguments as iptables-save does: `--comment` values are save-strings, other tokens are bare. */
export function joinIptablesArgs(args: readonly string[]): string {
  return args
    .map((arg, i) => {
      ensure(isIptablesToken, 'iptables rule argument', arg);
      const isSaveString = args[i - 1] === '--comment';
      if (isSaveString ? !BARE_SAVE_STRING.test(arg) : arg === '' || NEEDS_QUOTES.test(arg)) return quote(arg);
      return arg;
    })
    .join(' ');
}

export type IptablesOp = 'append' | 'insert' | 'delete';

/** `-A CHAIN args`, `-I CHAIN 1 args` or `-D CHAIN args`. */
export function iptablesRuleLine(rule: Pick<IptablesRule, 'chain' | 'args'>, op: IptablesOp): string {
  ensure(isIptablesChain, 'iptables chain', rule.chain);
  const head = op === 'append' ? `-A ${rule.chain}` : op === 'insert' ? `-I ${rule.chain} 1` : `-D ${rule.chain}`;
  return `${head} ${joinIptablesArgs(rule.args)}`;
}

export interface IptablesRestoreInput {
  readonly table: IptablesTable;
  /** Chains to declare: created if missing and FLUSHED (even with --noflush), so list each one's full content. */
  readonly declare?: readonly string[];
  /** `-A`/`-I`/`-D` lines from `iptablesRuleLine`, in order. */
  readonly lines: readonly string[];
  /** Chains to delete (`-X`), after the lines have removed every reference to them. */
  readonly deleteChains?: readonly string[];
}

/** One table's payload for `iptables-restore --noflush` (or `ip6tables-restore`). */
export function renderIptablesRestore(input: IptablesRestoreInput): string {
  ensure((t: string) => TABLES.includes(t), 'iptables table', input.table);
  for (const chain of [...(input.declare ?? []), ...(input.deleteChains ?? [])]) {
    ensure(isIptablesChain, 'iptables chain', chain);
  }
  for (const line of input.lines) ensure(isIptablesToken, 'iptables-restore line', line);
  return [
    `*${input.table}`,
    ...(input.declare ?? []).map((chain) => `:${chain} - [0:0]`),
    ...input.lines,
    ...(input.deleteChains ?? []).map((chain) => `-X ${chain}`),
    'COMMIT',
    '',
  ].join('\n');
}
