/** Small constructors for iptables rules in `iptables-save` argument order (addresses, interfaces, matches, target). */
import type { IpFamily, IptablesChain, IptablesRule, IptablesTable } from '../plan.ts';

export function comment(text: string): string[] {
  return ['-m', 'comment', '--comment', text];
}

/** `-i eni+`: every interface whose name starts with the prefix. */
export function inInterfacePrefix(prefix: string): string[] {
  return ['-i', `${prefix}+`];
}

/** `-d <cidr>`, omitted for 0.0.0.0/0 as iptables-save does. */
export function destination(cidr: string): string[] {
  return cidr === '0.0.0.0/0' || cidr === '::/0' ? [] : ['-d', cidr];
}

export function rule(
  table: IptablesTable,
  chain: string,
  args: readonly string[],
  because: string,
  family: IpFamily = 'inet',
): IptablesRule {
  return { kind: 'iptables-rule', family, table, chain, args, because };
}

export function chain(table: IptablesTable, name: string, because: string, family: IpFamily = 'inet'): IptablesChain {
  return { kind: 'iptables-chain', family, table, name, because };
}
