import type { HostPlan, Route } from '../compiler/plan.ts';
import {
  type ChangeSet,
  diff,
  familyOf,
  ownsChain,
  ownsIptablesRule,
  routeOwnership,
  type Scope,
  scopeOf,
} from './diff.ts';
import { iptablesRuleKey, nftTableKey } from './keys.ts';
import type { LiveState } from './live.ts';
import { differenceLine } from './render.ts';

/**
 * PURE: the way back. Rolling back means converging to the state captured before the apply, restricted to what
 * the apply could have touched, so a batch that stopped halfway is undone the same way as a completed one.
 */

/** Everything the forward plan could change: its ownership plus the objects it names. */
export function revertScope(plan: HostPlan): Scope {
  const forward = scopeOf(plan);
  return {
    ownership: {
      ...plan.ownership,
      rulePriorities: [
        ...new Set([
          ...plan.ownership.rulePriorities,
          ...[...plan.rules, ...(plan.absentRules ?? [])].map((r) => r.priority),
        ]),
      ],
      iptablesChainPrefixes: [
        ...new Set([...plan.ownership.iptablesChainPrefixes, ...plan.iptablesChains.map((c) => c.name)]),
      ],
      nftTables: [...new Set([...plan.ownership.nftTables, ...plan.nftTables.map(nftTableKey)])],
    },
    routeKeys: forward.routeKeys,
    addressDevs: new Set(plan.addresses.map((a) => `${a.dev} ${familyOf(a.cidr)}`)),
  };
}

/** The captured state, seen as a plan over exactly what the forward plan could have touched. */
export function restoreTarget(captured: LiveState, plan: HostPlan, scope: Scope = revertScope(plan)): HostPlan {
  const { ownership } = scope;
  const plannedRules = new Set(plan.iptablesRules.map(iptablesRuleKey));
  const sysctlPaths = new Set(plan.sysctls.map((s) => s.path));
  const linkNames = new Set(plan.links.map((l) => l.name));
  return {
    version: 1,
    node: plan.node,
    links: captured.links.filter((l) => linkNames.has(l.name)),
    sysctls: captured.sysctls.filter((s) => sysctlPaths.has(s.path)),
    addresses: captured.addresses.filter((a) => scope.addressDevs.has(`${a.dev} ${familyOf(a.cidr)}`)),
    routes: captured.routes.filter((r) => routeOwnership(r, scope) !== undefined) as Route[],
    absentRoutes: [],
    rules: captured.rules.filter((r) => ownership.rulePriorities.includes(r.priority)),
    iptablesChains: captured.iptablesChains.filter((c) => ownsChain(ownership, c.name)),
    iptablesRules: captured.iptablesRules.filter((r) => ownsIptablesRule(r, plannedRules, ownership)),
    nftTables: captured.nftTables.filter((t) => ownership.nftTables.includes(nftTableKey(t))),
    ownership,
  };
}

/** The changes (and the target they lead to) that bring `current` back to `captured`. */
export function revert(
  captured: LiveState,
  current: LiveState,
  plan: HostPlan,
): { target: HostPlan; changes: ChangeSet } {
  const scope = revertScope(plan);
  const target = restoreTarget(captured, plan, scope);
  return { target, changes: diff(target, current, scope) };
}

/**
 * iptables-nft's own tables. It creates one the first time a rule goes into it and never removes it, so once our
 * rules are undone an empty `table ip mangle` would stay behind on a node that had none.
 */
const IPTABLES_NFT_TABLES = new Set(['nat', 'mangle', 'filter'].flatMap((t) => [`ip ${t}`, `ip6 ${t}`]));

export interface NftTableName {
  readonly family: string;
  readonly name: string;
}

/**
 * The iptables-nft tables that exist now, did not before the apply, and hold nothing: the rollback deletes them. A
 * table that holds anything is someone else's as soon as it does and is left alone; so is every table when the
 * state before was not read.
 */
export function strayTables(captured: LiveState, current: LiveState): NftTableName[] {
  if (captured.nftIndex === undefined) return [];
  const before = new Set(captured.nftIndex.map((t) => t.key));
  return (current.nftIndex ?? [])
    .filter((t) => t.empty && !before.has(t.key) && IPTABLES_NFT_TABLES.has(t.key))
    .map((t) => {
      const [family, name] = t.key.split(' ') as [string, string];
      return { family, name };
    });
}

/**
 * How `current` (re-read after a rollback) still differs from `captured` over what the apply could touch, one line
 * per object; empty when the rollback is complete.
 */
export function rollbackDifferences(captured: LiveState, current: LiveState, plan: HostPlan): string[] {
  return [
    ...revert(captured, current, plan).changes.map(differenceLine),
    ...strayTables(captured, current).map(
      (t) => `nft table ${t.family} ${t.name}: present now, absent before the apply`,
    ),
  ];
}
