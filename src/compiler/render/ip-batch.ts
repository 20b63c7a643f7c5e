/**
 * `ip -batch -` lines. A batch line cannot carry `-6`, so lines are split by family and the applier runs
 * `ip -batch -` and `ip -6 -batch -` (addresses and links go with IPv4; `ip` infers an address's family).
 */
import { isIpv6 } from '../../lib/address.ts';
import type { AbsentRoute, AbsentRule, Address, IpFamily, IpRule, Link, Route } from '../plan.ts';
import { ruleSelector, tableName } from './describe.ts';
import {
  ensure,
  isCidr,
  isInterfaceName,
  isIpAddress,
  isMark,
  isMtu,
  isProtocolName,
  isRouteTable,
  isRulePriority,
} from './grammar.ts';

/** Every field that reaches the line, checked by its grammar (RenderError otherwise). */
function checkObject(object: IpObject): void {
  switch (object.kind) {
    case 'rule':
    case 'absent-rule':
      ensure(isRulePriority, 'rule priority', object.priority);
      ensure(isRouteTable, 'rule table', object.table);
      if (object.from !== undefined) ensure(isCidr, 'rule from', object.from);
      if (object.to !== undefined) ensure(isCidr, 'rule to', object.to);
      if (object.fwmark !== undefined) {
        ensure(isMark, 'rule fwmark', object.fwmark.mark);
        ensure(isMark, 'rule fwmark mask', object.fwmark.mask);
      }
      if (object.iif !== undefined) ensure(isInterfaceName, 'rule iif', object.iif);
      if (object.ipproto !== undefined) ensure(isProtocolName, 'rule ipproto', object.ipproto);
      return;
    case 'route':
    case 'absent-route':
      ensure(isRouteTable, 'route table', object.table);
      ensure(isCidr, 'route dst', object.dst);
      ensure(isInterfaceName, 'route dev', object.dev);
      if (object.kind === 'route') {
        if (object.via !== undefined) ensure(isIpAddress, 'route via', object.via);
        if (object.src !== undefined) ensure(isIpAddress, 'route src', object.src);
        ensure((s: string) => s === 'link' || s === 'global', 'route scope', object.scope);
      }
      return;
    case 'address':
      ensure(isCidr, 'address', object.cidr);
      ensure(isInterfaceName, 'address dev', object.dev);
      return;
    case 'link':
      ensure(isInterfaceName, 'link name', object.name);
      ensure(isMtu, 'link mtu', object.mtu);
      ensure((u: boolean) => typeof u === 'boolean', 'link up', object.up);
  }
}

/** ` proto NAME` for a restored live route, refused unless it is a protocol word. */
export function routeProtocolSuffix(protocol: string): string {
  return ` proto ${ensure(isProtocolName, 'route protocol', protocol)}`;
}

export type IpObject = IpRule | AbsentRule | Route | AbsentRoute | Address | Link;
export type IpOp = 'add' | 'delete';

function ruleLine(rule: Omit<IpRule, 'kind'>, op: IpOp): string {
  return `rule ${op === 'add' ? 'add' : 'del'} priority ${rule.priority} ${ruleSelector(rule)}`;
}

function routeLine(route: Route, op: IpOp): string {
  const via = route.via === undefined ? '' : ` via ${route.via}`;
  const scope = route.scope === 'link' ? ' scope link' : '';
  const src = route.src === undefined ? '' : ` src ${route.src}`;
  // `replace` makes an add idempotent and fixes a route whose gateway or scope drifted.
  const verb = op === 'add' ? 'replace' : 'del';
  return `route ${verb} ${route.dst}${via} dev ${route.dev}${scope}${src} table ${tableName(route.table)}`;
}

/** The `ip` command line (without `ip`) that adds or deletes one object; `add` of an absent-* object deletes it. */
export function ipBatchLine(object: IpObject, op: IpOp): string {
  checkObject(object);
  switch (object.kind) {
    case 'rule':
      return ruleLine(object, op);
    case 'absent-rule':
      return ruleLine(object, 'delete');
    case 'route':
      return routeLine(object, op);
    case 'absent-route':
      return `route del ${object.dst} dev ${object.dev} table ${tableName(object.table)}`;
    case 'address':
      return `address ${op === 'add' ? 'add' : 'del'} ${object.cidr} dev ${object.dev}`;
    case 'link':
      return `link set dev ${object.name} mtu ${object.mtu} ${object.up ? 'up' : 'down'}`;
  }
}

function familyOf(object: IpObject): IpFamily {
  if (object.kind === 'address') return isIpv6(object.cidr) ? 'inet6' : 'inet';
  if (object.kind === 'link') return 'inet';
  return object.family;
}

export interface IpBatches {
  /** Payload for `ip -batch -` ('' when empty). */
  readonly inet: string;
  /** Payload for `ip -6 -batch -` ('' when empty). */
  readonly inet6: string;
}

/** Renders ordered operations into the two batch payloads, keeping their order within each family. */
export function renderIpBatches(operations: readonly { readonly object: IpObject; readonly op: IpOp }[]): IpBatches {
  const lines: Record<IpFamily, string[]> = { inet: [], inet6: [] };
  for (const { object, op } of operations) lines[familyOf(object)].push(ipBatchLine(object, op));
  const join = (l: string[]) => (l.length === 0 ? '' : `${l.join('\n')}\n`);
  return { inet: join(lines.inet), inet6: join(lines.inet6) };
}
