import type { HostPlan, IpFamily, IptablesRule, IptablesTable, PlanObject } from '../compiler/plan.ts';
import {
  ensure,
  type IpObject,
  type IpOp,
  ipBatchLine,
  iptablesRuleLine,
  isSysctlPath,
  isSysctlValue,
  joinIptablesArgs,
  renderIptablesRestore,
  renderNftDelete,
  renderNftReplace,
  routeProtocolSuffix,
} from '../compiler/render/index.ts';
import { type Change, type ChangeSet, familyOf } from './diff.ts';
import { iptablesRuleKey } from './keys.ts';
import type { LiveRoute, LiveState } from './live.ts';
import type { NftTableName } from './revert.ts';

/**
 * PURE: a ChangeSet rendered as at most one payload per backend, ordered so traffic always has a path: links and
 * addresses first, new routes and rules before old ones are removed, addresses last; in iptables, stale rules go
 * before their replacements are inserted at their planned position within one atomic restore per table.
 */

export interface Payloads {
  readonly sysctls: readonly { readonly path: string; readonly value: string }[];
  /** `ip -4 -batch -` and `ip -6 -batch -` input ('' = nothing to do). */
  readonly ip: Readonly<Record<IpFamily, string>>;
  /** `iptables-restore --noflush` / `ip6tables-restore --noflush` input ('' = nothing to do). */
  readonly iptables: Readonly<Record<IpFamily, string>>;
  /** `nft -f -` input ('' = nothing to do). */
  readonly nft: string;
}

export interface WriteInput {
  readonly changes: ChangeSet;
  /** The state being converged to: the plan, or the captured state when rolling back. */
  readonly desired: HostPlan;
  /** The live state the changes were computed from (iptables insert positions depend on it). */
  readonly live: LiveState;
  /** nft tables to delete after everything else (a rollback's stray iptables-nft tables). */
  readonly dropTables?: readonly NftTableName[];
}

interface IpStage {
  readonly kinds: readonly PlanObject['kind'][];
  readonly op: IpOp;
  /** Links going down flush their routes, so they are set after every other ip change, links coming up before. */
  readonly linkUp?: boolean;
}

const IP_STAGES: readonly IpStage[] = [
  { kinds: ['link'], op: 'add', linkUp: true },
  { kinds: ['address'], op: 'add' },
  { kinds: ['route'], op: 'add' },
  { kinds: ['rule'], op: 'add' },
  { kinds: ['rule', 'absent-rule'], op: 'delete' },
  { kinds: ['route', 'absent-route'], op: 'delete' },
  { kinds: ['address'], op: 'delete' },
  { kinds: ['link'], op: 'add', linkUp: false },
];

function inStage(stage: IpStage, change: Change): boolean {
  if (!stage.kinds.includes(change.object.kind) || opOf(change) !== stage.op) return false;
  return change.object.kind !== 'link' || change.object.up === stage.linkUp;
}

const opOf = (change: Change): IpOp => (change.kind === 'delete' ? 'delete' : 'add');

function ipFamilyOf(object: IpObject): IpFamily {
  if (object.kind === 'address') return familyOf(object.cidr);
  return object.kind === 'link' ? 'inet' : object.family;
}

/** A route read from the kernel keeps its origin when restored (`proto kernel` for a connected route). */
function ipLine(object: IpObject, op: IpOp): string {
  const line = ipBatchLine(object, op);
  const protocol = (object as Partial<LiveRoute>).protocol;
  return object.kind === 'route' && op === 'add' && protocol !== undefined && protocol !== 'boot'
    ? `${line}${routeProtocolSuffix(protocol)}`
    : line;
}

function ipPayloads(changes: ChangeSet): Payloads['ip'] {
  const lines: Record<IpFamily, string[]> = { inet: [], inet6: [] };
  for (const stage of IP_STAGES) {
    for (const change of changes) {
      if (!inStage(stage, change)) continue;
      const object = change.object as IpObject;
      lines[ipFamilyOf(object)].push(ipLine(object, stage.op));
    }
  }
  const join = (l: string[]) => (l.length === 0 ? '' : `${l.join('\n')}\n`);
  return { inet: join(lines.inet), inet6: join(lines.inet6) };
}

/** `-D` lines for the rules going away, then `-I`/`-A` lines placing the new ones, simulating the chain as it changes. */
function chainLines(
  chain: string,
  changes: ChangeSet,
  input: WriteInput,
  family: IpFamily,
  table: IptablesTable,
): string[] {
  const inChain = (r: PlanObject): r is IptablesRule =>
    r.kind === 'iptables-rule' && r.family === family && r.table === table && r.chain === chain;
  const sim = input.live.iptablesRules.filter(inChain).map(iptablesRuleKey);
  const lines: string[] = [];
  for (const change of changes) {
    const old = change.kind === 'replace' ? change.previous : change.kind === 'delete' ? change.object : undefined;
    if (old === undefined || !inChain(old)) continue;
    lines.push(iptablesRuleLine(old, 'delete'));
    sim.splice(sim.indexOf(iptablesRuleKey(old)), 1);
  }
  const pending = new Map<string, number>();
  for (const change of changes) {
    if (change.kind === 'delete' || !inChain(change.object)) continue;
    const key = iptablesRuleKey(change.object);
    pending.set(key, (pending.get(key) ?? 0) + 1);
  }
  const desired = input.desired.iptablesRules.filter(inChain);
  // Walk the desired order backwards: each rule to insert goes right before the desired rule that follows it.
  const inserts: string[] = [];
  let anchor: { index: number; head: boolean } | undefined;
  for (const rule of desired.toReversed()) {
    const key = iptablesRuleKey(rule);
    const head = rule.position === 'head';
    if ((pending.get(key) ?? 0) > 0) {
      pending.set(key, pending.get(key)! - 1);
      const index = anchor !== undefined && (!head || anchor.head) ? anchor.index : head ? 0 : sim.length;
      sim.splice(index, 0, key);
      inserts.push(
        index === sim.length - 1
          ? iptablesRuleLine(rule, 'append')
          : `-I ${chain} ${index + 1} ${joinIptablesArgs(rule.args)}`,
      );
      anchor = { index, head };
    } else {
      const before = anchor === undefined ? sim.length : anchor.index;
      const index = before === 0 ? -1 : sim.lastIndexOf(key, before - 1);
      if (index >= 0) anchor = { index, head };
    }
  }
  return [...lines, ...inserts];
}

function iptablesPayload(input: WriteInput, family: IpFamily): string {
  const ofFamily = input.changes.filter(
    (c) => (c.object.kind === 'iptables-rule' || c.object.kind === 'iptables-chain') && c.object.family === family,
  );
  const tables = [...new Set(ofFamily.map((c) => (c.object as IptablesRule).table))].sort();
  return tables
    .map((table) => {
      const inTable = ofFamily.filter((c) => (c.object as IptablesRule).table === table);
      const chainsOf = (kind: Change['kind']) =>
        inTable
          .filter((c) => c.kind === kind && c.object.kind === 'iptables-chain')
          .map((c) => (c.object as { name: string }).name);
      const dropped = chainsOf('delete');
      const ruleChains = [
        ...new Set(
          inTable.filter((c) => c.object.kind === 'iptables-rule').map((c) => (c.object as IptablesRule).chain),
        ),
      ];
      return renderIptablesRestore({
        table,
        declare: chainsOf('add'),
        lines: [
          ...ruleChains.flatMap((chain) => chainLines(chain, inTable, input, family, table)),
          // A chain must be empty before -X; its rules were not listed as changes of their own.
          ...dropped.map((chain) => `-F ${chain}`),
        ],
        deleteChains: dropped,
      });
    })
    .join('');
}

function nftPayload(changes: ChangeSet, dropTables: readonly NftTableName[]): string {
  return [
    ...changes.map((c) => {
      if (c.object.kind !== 'nft-table') return '';
      return c.kind === 'delete' ? renderNftDelete(c.object.family, c.object.name) : renderNftReplace(c.object);
    }),
    ...dropTables.map((t) => renderNftDelete(t.family, t.name)),
  ].join('');
}

export function renderPayloads(input: WriteInput): Payloads {
  return {
    sysctls: input.changes.flatMap((c) =>
      c.object.kind === 'sysctl' && c.kind !== 'delete'
        ? [
            {
              path: ensure(isSysctlPath, 'sysctl key', c.object.path),
              value: ensure(isSysctlValue, 'sysctl value', c.object.value),
            },
          ]
        : [],
    ),
    ip: ipPayloads(input.changes),
    iptables: { inet: iptablesPayload(input, 'inet'), inet6: iptablesPayload(input, 'inet6') },
    nft: nftPayload(input.changes, input.dropTables ?? []),
  };
}
