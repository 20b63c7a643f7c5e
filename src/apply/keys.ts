import type { AbsentRoute, IptablesRule, NftTable, PlanObject, Route } from '../compiler/plan.ts';
import { joinIptablesArgs, ruleSelector } from '../compiler/render/index.ts';

/*
 * Identity of plan objects: which live object a planned one is compared with. Routes are identified by where they
 * are (family, table, destination) so a changed gateway is a replace; rules and iptables rules by their whole text.
 * Pure. What a reader sees is `describe` from the compiler's renderers.
 */

export function routeKey(route: Route | AbsentRoute): string {
  return `${route.family} ${route.table} ${route.dst}`;
}

export function iptablesRuleKey(rule: Pick<IptablesRule, 'family' | 'table' | 'chain' | 'args'>): string {
  return `${rule.family} ${rule.table} ${rule.chain} ${joinIptablesArgs(rule.args)}`;
}

export function nftTableKey(table: Pick<NftTable, 'family' | 'name'>): string {
  return `${table.family} ${table.name}`;
}

export function identity(object: PlanObject): string {
  switch (object.kind) {
    case 'link':
      return `link ${object.name}`;
    case 'address':
      return `address ${object.dev} ${object.cidr}`;
    case 'route':
    case 'absent-route':
      return `route ${routeKey(object)}`;
    case 'rule':
    case 'absent-rule':
      return `rule ${object.family} ${object.priority} ${ruleSelector(object)}`;
    case 'sysctl':
      return `sysctl ${object.path}`;
    case 'iptables-chain':
      return `chain ${object.family} ${object.table} ${object.name}`;
    case 'iptables-rule':
      return `iptables ${iptablesRuleKey(object)}`;
    case 'nft-table':
      return `nft ${nftTableKey(object)}`;
  }
}
