import type {
  Address,
  HostPlan,
  IpFamily,
  IptablesChain,
  IptablesRule,
  Link,
  NftTable,
  Ownership,
  PlanObject,
  Route,
  Sysctl,
} from '../compiler/plan.ts';
import { isIpv6 } from '../lib/address.ts';
import { counted } from '../lib/counted.ts';
import { identity, iptablesRuleKey, nftTableKey, routeKey } from './keys.ts';
import type { LiveRoute, LiveRule, LiveState } from './live.ts';

/**
 * PURE: what must change for the live state to equal the plan. Ownership-aware: an object that carries our
 * markers and is not desired is deleted; anything else in the kernel is invisible to the diff.
 */

export type ChangeKind = 'add' | 'delete' | 'replace';

export interface Change {
  readonly kind: ChangeKind;
  /** The desired object (add, replace) or the live object to remove (delete). */
  readonly object: PlanObject;
  /** Why, in domain terms: "missing", "mtu 1500 → 9001", "owned (priority 512) but not desired". */
  readonly reason: string;
  /** For replace: the live object being replaced. */
  readonly previous?: PlanObject;
}

export type ChangeSet = readonly Change[];

/** What the diff may touch, beyond the plan's own objects. */
export interface Scope {
  readonly ownership: Ownership;
  /** `family table dst` of routes the plan mentions: owned in any table, even main. */
  readonly routeKeys: ReadonlySet<string>;
  /** `dev family` pairs whose global addresses are ours entirely (secondary ENIs). */
  readonly addressDevs: ReadonlySet<string>;
}

const BUILT_IN_CHAINS = new Set(['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING']);

export function familyOf(cidr: string): IpFamily {
  return isIpv6(cidr.split('/')[0]!) ? 'inet6' : 'inet';
}

export function scopeOf(plan: HostPlan): Scope {
  return {
    ownership: plan.ownership,
    routeKeys: new Set([...plan.routes, ...plan.absentRoutes].map(routeKey)),
    addressDevs: new Set(
      plan.addresses.filter((a) => a.dev !== plan.node.primaryInterface).map((a) => `${a.dev} ${familyOf(a.cidr)}`),
    ),
  };
}

export function ownsChain(ownership: Ownership, name: string): boolean {
  return !BUILT_IN_CHAINS.has(name) && ownership.iptablesChainPrefixes.some((p) => p !== '' && name.startsWith(p));
}

function commentOf(args: readonly string[]): string | undefined {
  const at = args.indexOf('--comment');
  return at < 0 ? undefined : args[at + 1];
}

const added = (object: PlanObject, reason = 'missing'): Change => ({ kind: 'add', object, reason });
const deleted = (object: PlanObject, reason: string): Change => ({ kind: 'delete', object, reason });
const replaced = (object: PlanObject, previous: PlanObject, reason: string): Change => ({
  kind: 'replace',
  object,
  previous,
  reason,
});

function differences(pairs: readonly [string, unknown, unknown][]): string {
  return pairs
    .filter(([, want, have]) => want !== have)
    .map(([name, want, have]) => `${name} ${have ?? '(none)'} → ${want ?? '(none)'}`)
    .join(', ');
}

function diffLinks(links: readonly Link[], live: LiveState): Change[] {
  return links.flatMap((link) => {
    const have = live.links.find((l) => l.name === link.name);
    if (have === undefined) return [added(link, `no interface named ${link.name} (MAC ${link.mac})`)];
    const why = differences([
      ['mtu', link.mtu, have.mtu],
      ['state', link.up ? 'up' : 'down', have.up ? 'up' : 'down'],
    ]);
    return why === '' ? [] : [replaced(link, have, why)];
  });
}

const normalise = (value: string) => value.trim().replace(/\s+/g, ' ');

function diffSysctls(sysctls: readonly Sysctl[], live: LiveState): Change[] {
  return sysctls.flatMap((sysctl) => {
    const have = live.sysctls.find((s) => s.path === sysctl.path);
    if (have === undefined) return [added(sysctl, `/proc/sys/${sysctl.path} does not exist`)];
    if (normalise(have.value) === normalise(sysctl.value)) return [];
    return [replaced(sysctl, have, `${have.value} → ${sysctl.value}`)];
  });
}

function diffAddresses(addresses: readonly Address[], live: LiveState, scope: Scope): Change[] {
  const want = new Set(addresses.map(identity));
  const have = new Set(live.addresses.map(identity));
  return [
    ...addresses.filter((a) => !have.has(identity(a))).map((a) => added(a)),
    ...live.addresses
      .filter((a) => scope.addressDevs.has(`${a.dev} ${familyOf(a.cidr)}`) && !want.has(identity(a)))
      .map((a) => deleted(a, `owned (address of secondary ENI ${a.dev}) but not desired`)),
  ];
}

function isPodRoute(route: LiveRoute, ownership: Ownership): boolean {
  const hostLength = route.family === 'inet6' ? '/128' : '/32';
  // An empty veth prefix would match every interface; such pod routes are only owned when the plan names them.
  return (
    route.protocol !== 'kernel' &&
    route.dst.endsWith(hostLength) &&
    ownership.vethPrefixes.some((p) => p !== '' && route.dev.startsWith(p))
  );
}

/** Why a live route is ours (and so may be deleted), or undefined when it belongs to someone else. */
export function routeOwnership(route: LiveRoute, scope: Scope): string | undefined {
  if (scope.ownership.routeTables.includes(route.table)) return `owned (table ${route.table}) but not desired`;
  if (route.table === 254 && isPodRoute(route, scope.ownership))
    return `owned (pod route on ${route.dev}) but not desired`;
  if (scope.routeKeys.has(routeKey(route))) return 'owned (named by the plan) but not desired';
  return undefined;
}

function routeDifferences(want: Route, have: LiveRoute): string {
  return [
    differences([
      ['dev', want.dev, have.dev],
      ['via', want.via, have.via],
      ['scope', want.scope, have.scope],
      ['src', want.src, have.src],
    ]),
    have.extra === undefined ? '' : `unexpected ${have.extra}`,
  ]
    .filter((s) => s !== '')
    .join(', ');
}

/**
 * Adding an address makes the kernel add its subnet route; when the plan wants that route absent, its deletion must
 * be part of the same write even though the live state does not show the route yet.
 */
function routesTheKernelWillAdd(plan: HostPlan, live: LiveState): Change[] {
  const addedAddresses = diffAddresses(plan.addresses, live, scopeOf(plan)).filter((c) => c.kind === 'add');
  return plan.absentRoutes
    .filter((absent) => absent.table === 254 && !live.routes.some((r) => routeKey(r) === routeKey(absent)))
    .flatMap((absent) => {
      const address = addedAddresses.find(
        (c) => c.object.kind === 'address' && c.object.dev === absent.dev && familyOf(c.object.cidr) === absent.family,
      );
      if (address?.object.kind !== 'address') return [];
      return [deleted(absent, `the kernel adds it with address ${address.object.cidr} (${absent.because})`)];
    });
}

function diffRoutes(plan: HostPlan, live: LiveState, scope: Scope): Change[] {
  const changes: Change[] = routesTheKernelWillAdd(plan, live);
  const matched = new Set<LiveRoute>();
  for (const route of plan.routes) {
    const candidates = live.routes.filter((r) => routeKey(r) === routeKey(route));
    const same = candidates.find((r) => routeDifferences(route, r) === '');
    const have = same ?? candidates[0];
    if (have === undefined) changes.push(added(route));
    else {
      matched.add(have);
      if (same === undefined) changes.push(replaced(route, have, routeDifferences(route, have)));
    }
  }
  for (const absent of plan.absentRoutes) {
    for (const have of live.routes.filter((r) => routeKey(r) === routeKey(absent) && r.dev === absent.dev)) {
      matched.add(have);
      changes.push(deleted(have, `must not exist (${absent.because})`));
    }
  }
  for (const have of live.routes) {
    if (matched.has(have)) continue;
    const reason = routeOwnership(have, scope);
    if (reason !== undefined) changes.push(deleted(have, reason));
  }
  return changes;
}

function diffRules(plan: HostPlan, live: LiveState, scope: Scope): Change[] {
  const absent = new Map((plan.absentRules ?? []).map((r) => [identity(r), r]));
  const isAbsent = (rule: LiveRule) => rule.extra === undefined && absent.has(identity(rule));
  const owned = (rule: LiveRule) => scope.ownership.rulePriorities.includes(rule.priority) || isAbsent(rule);
  const unmatched = new Map<string, LiveRule[]>();
  for (const rule of live.rules.filter(owned)) {
    const key = rule.extra === undefined ? identity(rule) : `${identity(rule)} ${rule.extra}`;
    unmatched.set(key, [...(unmatched.get(key) ?? []), rule]);
  }
  const changes: Change[] = [];
  for (const rule of plan.rules) {
    const same = unmatched.get(identity(rule));
    if (same === undefined || same.length === 0) changes.push(added(rule));
    else same.shift();
  }
  for (const rest of unmatched.values()) {
    for (const rule of rest) {
      const unwanted = isAbsent(rule) ? absent.get(identity(rule)) : undefined;
      const reason = unwanted
        ? `must not exist (${unwanted.because})`
        : `owned (priority ${rule.priority}) but not desired`;
      changes.push(deleted(rule, reason));
    }
  }
  return changes;
}

function diffChains(chains: readonly IptablesChain[], live: LiveState, ownership: Ownership): Change[] {
  const want = new Set(chains.map(identity));
  const have = new Set(live.iptablesChains.map(identity));
  return [
    ...chains.filter((c) => !have.has(identity(c))).map((c) => added(c)),
    ...live.iptablesChains
      .filter((c) => ownsChain(ownership, c.name) && !want.has(identity(c)))
      .map((c) => {
        const count = live.iptablesRules.filter(
          (r) => r.family === c.family && r.table === c.table && r.chain === c.name,
        );
        return deleted(c, `owned chain no longer desired (with its ${counted(count.length, 'rule')})`);
      }),
  ];
}

/** Longest common subsequence of two key lists, as the set of matched indexes on each side. */
function commonSubsequence(a: readonly string[], b: readonly string[]): { inA: Set<number>; inB: Set<number> } {
  const lengths = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i]![j] = a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const inA = new Set<number>();
  const inB = new Set<number>();
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    if (a[i] === b[j]) {
      inA.add(i++);
      inB.add(j++);
    } else if (lengths[i + 1]![j]! >= lengths[i]![j + 1]!) i++;
    else j++;
  }
  return { inA, inB };
}

/** Ours: every rule of an owned chain; elsewhere a rule with one of our comments or exactly a planned rule. */
export function ownsIptablesRule(rule: IptablesRule, planned: ReadonlySet<string>, ownership: Ownership): boolean {
  if (ownsChain(ownership, rule.chain)) return true;
  const comment = commentOf(rule.args);
  return (comment !== undefined && ownership.iptablesComments.includes(comment)) || planned.has(iptablesRuleKey(rule));
}

/**
 * Per chain, the rules kept are the longest common subsequence of live and desired order; the rest of the live
 * rules are deleted and the rest of the desired ones added (a rule on both sides but out of order is a replace).
 */
function diffIptablesRules(plan: HostPlan, live: LiveState, scope: Scope): Change[] {
  const chainOf = (r: IptablesRule | IptablesChain) => `${r.family} ${r.table} ${'chain' in r ? r.chain : r.name}`;
  const dropped = new Set(
    live.iptablesChains
      .filter((c) => ownsChain(scope.ownership, c.name) && !plan.iptablesChains.some((p) => chainOf(p) === chainOf(c)))
      .map(chainOf),
  );
  const chains = [...new Set([...plan.iptablesRules, ...live.iptablesRules].map(chainOf))].filter(
    (c) => !dropped.has(c),
  );
  const changes: Change[] = [];
  for (const chain of chains) {
    const want = plan.iptablesRules.filter((r) => chainOf(r) === chain);
    const wantKeys = want.map(iptablesRuleKey);
    const planned = new Set(wantKeys);
    const have = live.iptablesRules.filter(
      (r) => chainOf(r) === chain && ownsIptablesRule(r, planned, scope.ownership),
    );
    const haveKeys = have.map(iptablesRuleKey);
    const { inA: keptLive, inB: keptWant } = commonSubsequence(haveKeys, wantKeys);
    const toAdd = new Map<string, number>();
    wantKeys.forEach((key, j) => {
      if (!keptWant.has(j)) toAdd.set(key, (toAdd.get(key) ?? 0) + 1);
    });
    const moved = new Set<string>();
    have.forEach((rule, i) => {
      if (keptLive.has(i)) return;
      const key = haveKeys[i]!;
      const pending = toAdd.get(key) ?? 0;
      if (pending > 0) {
        toAdd.set(key, pending - 1);
        moved.add(key);
        changes.push(replaced(want[wantKeys.indexOf(key)]!, rule, 'out of order'));
      } else {
        const duplicate = wantKeys.includes(key) ? 'duplicate of a desired rule' : 'owned but not desired';
        changes.push(deleted(rule, duplicate));
      }
    });
    want.forEach((rule, j) => {
      const key = wantKeys[j]!;
      if (keptWant.has(j) || (toAdd.get(key) ?? 0) === 0) return;
      toAdd.set(key, toAdd.get(key)! - 1);
      changes.push(added(rule));
    });
  }
  return changes;
}

function nftTableDifferences(want: NftTable, have: NftTable): string {
  const found: string[] = [];
  for (const chain of want.chains) {
    const other = have.chains.find((c) => c.name === chain.name);
    if (other === undefined) {
      found.push(`chain ${chain.name} missing`);
      continue;
    }
    if (JSON.stringify(chain.base) !== JSON.stringify(other.base)) found.push(`chain ${chain.name} hook differs`);
    const missing = chain.rules.filter((r) => !other.rules.includes(r));
    const extra = other.rules.filter((r) => !chain.rules.includes(r));
    for (const rule of missing) found.push(`chain ${chain.name}: rule "${rule}" missing`);
    for (const rule of extra) found.push(`chain ${chain.name}: unexpected rule "${rule}"`);
    if (missing.length === 0 && extra.length === 0 && chain.rules.join('\n') !== other.rules.join('\n')) {
      found.push(`chain ${chain.name}: rules out of order`);
    }
  }
  for (const chain of have.chains) {
    if (!want.chains.some((c) => c.name === chain.name)) found.push(`unexpected chain ${chain.name}`);
  }
  return found.join('; ');
}

function diffNftTables(tables: readonly NftTable[], live: LiveState, ownership: Ownership): Change[] {
  const changes: Change[] = [];
  for (const table of tables) {
    const have = live.nftTables.find((t) => nftTableKey(t) === nftTableKey(table));
    if (have === undefined) changes.push(added(table));
    else {
      const why = nftTableDifferences(table, have);
      if (why !== '') changes.push(replaced(table, have, why));
    }
  }
  for (const have of live.nftTables) {
    const wanted = tables.some((t) => nftTableKey(t) === nftTableKey(have));
    if (!wanted && ownership.nftTables.includes(nftTableKey(have))) {
      changes.push(deleted(have, 'owned table no longer desired'));
    }
  }
  return changes;
}

/** The changes that make `live` equal `plan`, grouped by object type in a fixed order. */
export function diff(plan: HostPlan, live: LiveState, scope: Scope = scopeOf(plan)): ChangeSet {
  const changes = [
    ...diffSysctls(plan.sysctls, live),
    ...diffLinks(plan.links, live),
    ...diffAddresses(plan.addresses, live, scope),
    ...diffRoutes(plan, live, scope),
    ...diffRules(plan, live, scope),
    ...diffChains(plan.iptablesChains, live, scope.ownership),
    ...diffIptablesRules(plan, live, scope),
    ...diffNftTables(plan.nftTables, live, scope.ownership),
  ];
  // Against a kernel that was not read, "does not exist" or "missing" would be claims nobody checked.
  const unread = live.unread;
  if (unread === undefined) return changes;
  return changes.map((change) => ({ ...change, reason: `assumed absent: the live state was not read (${unread})` }));
}
