import type { PlanObject } from '../compiler/plan.ts';
import { describe } from '../compiler/render/index.ts';
import type { Change, ChangeSet } from './diff.ts';

/**
 * The ChangeSet for people (`+ route … (missing)`) and for programs (JSON). Both come from the same value, and the
 * `plan` exit code comes from its length. Pure.
 */

const SIGNS: Record<Change['kind'], string> = { add: '+', delete: '-', replace: '~' };

const GROUPS: readonly { readonly title: string; readonly kinds: readonly PlanObject['kind'][] }[] = [
  { title: 'sysctls', kinds: ['sysctl'] },
  { title: 'links', kinds: ['link'] },
  { title: 'addresses', kinds: ['address'] },
  { title: 'routes', kinds: ['route', 'absent-route'] },
  { title: 'ip rules', kinds: ['rule', 'absent-rule'] },
  { title: 'iptables', kinds: ['iptables-chain', 'iptables-rule'] },
  { title: 'nftables', kinds: ['nft-table'] },
];

export function changeLine(change: Change): string {
  return `${SIGNS[change.kind]} ${describe(change.object)}   (${change.reason})`;
}

/**
 * A change on the way back after a rollback, said as what differs from the state before the apply:
 * `rule 1536: from 10.0.2.21/32 lookup 2: present now, absent before the apply`.
 */
export function differenceLine(change: Change): string {
  if (change.kind === 'add') return `${describe(change.object)}: absent now, present before the apply`;
  if (change.kind === 'delete') return `${describe(change.object)}: present now, absent before the apply`;
  return `${describe(change.object)}: changed since before the apply (now → before: ${change.reason})`;
}

export interface ChangeSummary {
  readonly add: number;
  readonly change: number;
  readonly remove: number;
}

export function summarise(changes: ChangeSet): ChangeSummary {
  const count = (kind: Change['kind']) => changes.filter((c) => c.kind === kind).length;
  return { add: count('add'), change: count('replace'), remove: count('delete') };
}

export function summaryLine(changes: ChangeSet): string {
  if (changes.length === 0) return 'No changes: the live state matches the plan.';
  const { add, change, remove } = summarise(changes);
  return `Plan: ${add} to add, ${change} to change, ${remove} to remove.`;
}

export function renderChangesText(changes: ChangeSet): string {
  const sections = GROUPS.flatMap((group) => {
    const inGroup = changes.filter((c) => group.kinds.includes(c.object.kind));
    return inGroup.length === 0 ? [] : [`${group.title}:`, ...inGroup.map((c) => `  ${changeLine(c)}`), ''];
  });
  return [...sections, summaryLine(changes), ''].join('\n');
}

export function renderChangesJson(changes: ChangeSet): string {
  const entries = changes.map((c) => ({
    action: c.kind,
    kind: c.object.kind,
    description: describe(c.object),
    reason: c.reason,
    object: c.object,
    ...(c.previous === undefined ? {} : { previous: c.previous }),
  }));
  return `${JSON.stringify({ summary: summarise(changes), changes: entries }, null, 2)}\n`;
}
