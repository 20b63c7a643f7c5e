/**
 * One line per plan object, in the words of the tool that shows it (`ip rule`, `ip route`, `iptables -S`): used by the
 * plan text and by the applier's change list (`+ <describe(object)>   (reason)`).
 */
import { counted } from '../../lib/counted.ts';
import type { IpRule, NftTable, PlanObject } from '../plan.ts';
import { iptablesRuleLine } from './iptables.ts';

const TABLE_NAMES: Readonly<Record<number, string>> = { 254: 'main', 255: 'local' };

export function tableName(table: number): string {
  return TABLE_NAMES[table] ?? String(table);
}

/** The selector of an ip rule as `ip rule show` prints it: `from all fwmark 0x80/0x80 lookup main`. */
export function ruleSelector(rule: Omit<IpRule, 'kind'>): string {
  const parts = [`from ${rule.from ?? 'all'}`];
  if (rule.to !== undefined) parts.push(`to ${rule.to}`);
  if (rule.fwmark !== undefined)
    parts.push(`fwmark 0x${rule.fwmark.mark.toString(16)}/0x${rule.fwmark.mask.toString(16)}`);
  if (rule.iif !== undefined) parts.push(`iif ${rule.iif}`);
  if (rule.ipproto !== undefined) parts.push(`ipproto ${rule.ipproto}`);
  parts.push(`lookup ${tableName(rule.table)}`);
  return parts.join(' ');
}

function familyFlag(family: string): string {
  return family === 'inet6' ? ' -6' : '';
}

function nftSummary(table: NftTable): string {
  const rules = table.chains.reduce((n, c) => n + c.rules.length, 0);
  return `nft table ${table.family} ${table.name} (${table.chains.map((c) => c.name).join(', ')}; ${counted(rules, 'rule')})`;
}

export function describe(object: PlanObject): string {
  switch (object.kind) {
    case 'rule':
      return `rule${familyFlag(object.family)} ${object.priority}: ${ruleSelector(object)}`;
    case 'absent-rule':
      return `no rule${familyFlag(object.family)} ${object.priority}: ${ruleSelector(object)}`;
    case 'route': {
      const via = object.via === undefined ? '' : ` via ${object.via}`;
      const scope = object.scope === 'link' ? ' scope link' : '';
      const src = object.src === undefined ? '' : ` src ${object.src}`;
      return `route${familyFlag(object.family)} ${object.dst}${via} dev ${object.dev}${scope}${src} table ${tableName(object.table)}`;
    }
    case 'absent-route':
      return `no route${familyFlag(object.family)} ${object.dst} dev ${object.dev} table ${tableName(object.table)}`;
    case 'address':
      return `address ${object.cidr} dev ${object.dev}`;
    case 'link':
      return `link ${object.name} (${object.mac}) mtu ${object.mtu} ${object.up ? 'up' : 'down'}`;
    case 'sysctl':
      return `sysctl ${object.path} = ${object.value}`;
    case 'iptables-chain':
      return `${object.family === 'inet6' ? 'ip6tables' : 'iptables'} -t ${object.table} -N ${object.name}`;
    case 'iptables-rule': {
      const op = object.position === 'head' ? 'insert' : 'append';
      return `${object.family === 'inet6' ? 'ip6tables' : 'iptables'} -t ${object.table} ${iptablesRuleLine(object, op)}`;
    }
    case 'nft-table':
      return nftSummary(object);
  }
}
