import type { HostPlan, IpFamily, IptablesTable } from '../compiler/plan.ts';
import type { LiveState, ReadScope } from './live.ts';
import {
  parseIpAddr,
  parseIpRoutes,
  parseIpRules,
  parseIptablesSave,
  parseNftRuleset,
  parseNftTableIndex,
  parseSysctlLines,
} from './parse.ts';
import type { Runner } from './run.ts';

/**
 * Reads the live state once per object type and family: `ip -json addr` (links and addresses), `ip -json route`
 * and `ip -json rule` per family, `iptables-save` per family, `nft list ruleset` (also when no nft table is owned:
 * its table index tells a rollback which tables the apply created), one /proc/sys read.
 * All reads run concurrently; the count does not grow with the number of objects.
 */

const SAVE_COMMAND: Record<IpFamily, string> = { inet: 'iptables-save', inet6: 'ip6tables-save' };
const FAMILY_FLAG: Record<IpFamily, string> = { inet: '-4', inet6: '-6' };
const ALL_TABLES: readonly IptablesTable[] = ['nat', 'mangle', 'filter'];

/** What to read for a plan: its sysctls, both families (owned rules may exist in either), all iptables tables. */
export function readScopeOf(plan: HostPlan): ReadScope {
  return { sysctlPaths: plan.sysctls.map((s) => s.path), families: ['inet', 'inet6'], iptablesTables: ALL_TABLES };
}

async function readFamily(runner: Runner, family: IpFamily, scope: ReadScope) {
  const flag = FAMILY_FLAG[family];
  const [routes, rules, saved] = await Promise.all([
    runner.ip([flag, '-json', '-d', 'route', 'show', 'table', 'all']),
    runner.ip([flag, '-json', 'rule', 'show']),
    runner.inNetns(SAVE_COMMAND[family], []),
  ]);
  const iptables = parseIptablesSave(saved.stdout, family, scope.iptablesTables);
  return {
    routes: parseIpRoutes(routes.stdout, family),
    rules: parseIpRules(rules.stdout, family),
    chains: iptables.chains,
    iptablesRules: iptables.rules,
  };
}

export async function read(runner: Runner, scope: ReadScope, nftTables: readonly string[]): Promise<LiveState> {
  const [addr, families, ruleset, sysctls] = await Promise.all([
    runner.ip(['-json', 'addr', 'show']),
    Promise.all(scope.families.map((family) => readFamily(runner, family, scope))),
    runner.inNetns('nft', ['-s', '-y', 'list', 'ruleset']),
    runner.readProcSys(scope.sysctlPaths),
  ]);
  const { links, addresses } = parseIpAddr(addr.stdout);
  return {
    links,
    addresses,
    routes: families.flatMap((f) => f.routes),
    rules: families.flatMap((f) => f.rules),
    sysctls: parseSysctlLines(sysctls),
    iptablesChains: families.flatMap((f) => f.chains),
    iptablesRules: families.flatMap((f) => f.iptablesRules),
    nftTables: parseNftRuleset(ruleset.stdout, nftTables),
    nftIndex: parseNftTableIndex(ruleset.stdout),
  };
}

/** Reads everything a plan (and its ownership markers) can be compared with. */
export function readForPlan(runner: Runner, plan: HostPlan): Promise<LiveState> {
  const nftTables = [...new Set([...plan.ownership.nftTables, ...plan.nftTables.map((t) => `${t.family} ${t.name}`)])];
  return read(runner, readScopeOf(plan), nftTables);
}
