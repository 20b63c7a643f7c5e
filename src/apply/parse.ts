import type {
  Address,
  IpFamily,
  IptablesChain,
  IptablesRule,
  IptablesTable,
  Link,
  NftChain,
  NftTable,
  Sysctl,
} from '../compiler/plan.ts';
import { LIVE, type LiveRoute, type LiveRule, type NftTableSummary } from './live.ts';

/*
 * Pure parsers from the text the kernel tools print (`ip -json`, `iptables-save`, `nft list`, /proc/sys) to live
 * objects. They never run anything, so they are tested with captured output and no root.
 */

const TABLE_NUMBERS: Record<string, number> = { default: 253, main: 254, local: 255 };
const HOST_PREFIX: Record<IpFamily, number> = { inet: 32, inet6: 128 };
const ANY: Record<IpFamily, string> = { inet: '0.0.0.0/0', inet6: '::/0' };
/** The metric the kernel gives an IPv6 route added without one; it is not an attribute the plan sets. */
const DEFAULT_V6_METRIC = 1024;

export function tableNumber(table: string | number | undefined): number {
  if (table === undefined) return TABLE_NUMBERS.main!;
  if (typeof table === 'number') return table;
  const named = TABLE_NUMBERS[table];
  if (named !== undefined) return named;
  const n = Number(table);
  if (!Number.isInteger(n))
    throw new Error(`unknown route table "${table}" (named tables from rt_tables are not supported)`);
  return n;
}

function withPrefix(address: string, family: IpFamily, length?: number): string {
  if (address.includes('/')) return address;
  return `${address}/${length ?? HOST_PREFIX[family]}`;
}

function parseJsonArray(json: string, what: string): Record<string, unknown>[] {
  const text = json.trim();
  if (text === '') return [];
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) throw new Error(`${what}: expected a JSON array from ip -json`);
  return value as Record<string, unknown>[];
}

interface IpAddrInfo {
  readonly family: string;
  readonly local: string;
  readonly prefixlen: number;
  readonly scope: string;
}

/** `ip -json addr show` → links (name, MAC, MTU, admin state) and global-scope addresses. */
export function parseIpAddr(json: string): { links: Link[]; addresses: Address[] } {
  const links: Link[] = [];
  const addresses: Address[] = [];
  for (const entry of parseJsonArray(json, 'ip addr')) {
    const name = String(entry.ifname);
    const flags = (entry.flags as string[] | undefined) ?? [];
    links.push({
      kind: 'link',
      name,
      mac: String(entry.address ?? ''),
      mtu: Number(entry.mtu),
      up: flags.includes('UP'),
      because: LIVE,
    });
    for (const info of (entry.addr_info as IpAddrInfo[] | undefined) ?? []) {
      if (info.scope !== 'global') continue;
      addresses.push({ kind: 'address', dev: name, cidr: `${info.local}/${info.prefixlen}`, because: LIVE });
    }
  }
  return { links, addresses };
}

const ROUTE_KEYS = new Set([
  'type',
  'dst',
  'gateway',
  'dev',
  'table',
  'protocol',
  'scope',
  'prefsrc',
  'flags',
  'metric',
  'pref',
]);

/** `ip -FAMILY -json -d route show table all` → unicast routes outside the local table. */
export function parseIpRoutes(json: string, family: IpFamily): LiveRoute[] {
  const routes: LiveRoute[] = [];
  for (const entry of parseJsonArray(json, 'ip route')) {
    if (entry.type !== undefined && entry.type !== 'unicast') continue;
    const table = tableNumber(entry.table as string | undefined);
    if (table === TABLE_NUMBERS.local) continue;
    const dst = String(entry.dst);
    const extras = Object.keys(entry).filter((k) => !ROUTE_KEYS.has(k));
    const metric = entry.metric as number | undefined;
    if (metric !== undefined && metric !== 0 && !(family === 'inet6' && metric === DEFAULT_V6_METRIC)) {
      extras.push(`metric ${metric}`);
    }
    routes.push({
      kind: 'route',
      family,
      table,
      dst: dst === 'default' ? ANY[family] : withPrefix(dst, family),
      dev: String(entry.dev ?? ''),
      ...(entry.gateway === undefined ? {} : { via: String(entry.gateway) }),
      scope: (entry.scope ?? 'global') as LiveRoute['scope'],
      ...(entry.prefsrc === undefined ? {} : { src: String(entry.prefsrc) }),
      protocol: String(entry.protocol ?? 'boot'),
      ...(extras.length === 0 ? {} : { extra: extras.join(' ') }),
      because: LIVE,
    });
  }
  return routes;
}

const RULE_KEYS = new Set([
  'priority',
  'src',
  'srclen',
  'dst',
  'dstlen',
  'table',
  'fwmark',
  'fwmask',
  'iif',
  'ipproto',
  'protocol',
]);
const FULL_MASK = 0xffffffff;

/** `ip -FAMILY -json rule show` → every rule, with unmodelled selectors kept in `extra`. */
export function parseIpRules(json: string, family: IpFamily): LiveRule[] {
  return parseJsonArray(json, 'ip rule').map((entry) => {
    const extras = Object.keys(entry)
      .filter((k) => !RULE_KEYS.has(k))
      .map((k) => `${k} ${JSON.stringify(entry[k])}`);
    const src = entry.src as string | undefined;
    const dst = entry.dst as string | undefined;
    return {
      kind: 'rule',
      family,
      priority: Number(entry.priority),
      table: tableNumber((entry.table as string | undefined) ?? 'main'),
      ...(src === undefined || src === 'all'
        ? {}
        : { from: withPrefix(src, family, entry.srclen as number | undefined) }),
      ...(dst === undefined || dst === 'all'
        ? {}
        : { to: withPrefix(dst, family, entry.dstlen as number | undefined) }),
      ...(entry.fwmark === undefined
        ? {}
        : {
            fwmark: { mark: Number(entry.fwmark), mask: entry.fwmask === undefined ? FULL_MASK : Number(entry.fwmask) },
          }),
      ...(entry.iif === undefined ? {} : { iif: String(entry.iif) }),
      ...(entry.ipproto === undefined ? {} : { ipproto: String(entry.ipproto) }),
      ...(extras.length === 0 ? {} : { extra: extras.join(' ') }),
      because: LIVE,
    };
  });
}

/** Splits one `iptables-save` rule line into arguments the way a shell would (double quotes, backslash escapes). */
export function splitIptablesArgs(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) {
      current += line[++i];
      inToken = true;
    } else if (c === '"') {
      quoted = !quoted;
      inToken = true;
    } else if (c === ' ' && !quoted) {
      if (inToken) args.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  // iptables-save prints some strings bare whatever they hold (`-i x"y`): such a line is kept token by token, as
  // printed, so it stays someone else's opaque rule rather than stopping every read.
  if (quoted) return line.split(' ').filter((a) => a !== '');
  if (inToken) args.push(current);
  return args;
}

/** `iptables-save` (or `ip6tables-save`) → user-defined chains and every rule of the given tables, in kernel order. */
export function parseIptablesSave(
  text: string,
  family: IpFamily,
  tables: readonly IptablesTable[],
): { chains: IptablesChain[]; rules: IptablesRule[] } {
  const chains: IptablesChain[] = [];
  const rules: IptablesRule[] = [];
  let table: IptablesTable | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1) as IptablesTable;
      table = tables.includes(name) ? name : undefined;
    } else if (table === undefined || line === '' || line.startsWith('#') || line === 'COMMIT') {
    } else if (line.startsWith(':')) {
      const [name, policy] = line.slice(1).split(' ');
      if (policy === '-') chains.push({ kind: 'iptables-chain', family, table, name: name!, because: LIVE });
    } else if (line.startsWith('-A ')) {
      const [, chain, ...args] = splitIptablesArgs(line);
      rules.push({ kind: 'iptables-rule', family, table, chain: chain!, args, because: LIVE });
    }
  }
  return { chains, rules };
}

/** Reads `type nat hook prerouting priority -90; policy accept;` (printed with `nft -y`, so the priority is a number). */
function parseBaseChain(line: string): NftChain['base'] | undefined {
  const match = /^type (\w+) hook (\w+)(?: device \S+)? priority (-?\d+); policy (\w+);$/.exec(line);
  if (match === null) return undefined;
  return {
    type: match[1] as 'nat' | 'filter',
    hook: match[2]!,
    priority: Number(match[3]),
    policy: match[4] as 'accept' | 'drop',
  };
}

/**
 * `nft -s -y list ruleset` → the named tables only (foreign tables are not kept). Sets, maps and other objects the
 * plan cannot express are kept as pseudo-chains named by their header, so an owned table holding one never compares
 * equal to its planned form.
 */
export function parseNftRuleset(text: string, wanted: readonly string[]): NftTable[] {
  return parseNftTables(text).filter((t) => wanted.includes(`${t.family} ${t.name}`));
}

/**
 * Every table of the ruleset by `family name`, and whether it holds anything: a rule, a set or other object, or a
 * base chain whose policy is not accept. Used only to tell which tables appeared during an apply and are empty.
 */
export function parseNftTableIndex(text: string): NftTableSummary[] {
  return parseNftTables(text).map((t) => ({
    key: `${t.family} ${t.name}`,
    empty: t.chains.every(
      (c) => c.rules.length === 0 && !c.name.includes(' ') && (c.base?.policy ?? 'accept') === 'accept',
    ),
  }));
}

function parseNftTables(text: string): NftTable[] {
  const tables: NftTable[] = [];
  const lines = text.split('\n').map((l) => l.trim());
  let i = 0;
  while (i < lines.length) {
    const header = /^table (\w+) (\S+) \{$/.exec(lines[i]!);
    i++;
    if (header === null) continue;
    const family = header[1] as NftTable['family'];
    const name = header[2]!;
    const chains: NftChain[] = [];
    while (i < lines.length && lines[i] !== '}') {
      const block = /^(chain|set|map|flowtable|counter|quota|ct \w+|limit|secmark|synproxy) (\S+) \{$/.exec(lines[i]!);
      i++;
      if (block === null) continue;
      const body: string[] = [];
      let depth = 1;
      while (i < lines.length) {
        const line = lines[i]!;
        i++;
        const code = line.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        depth += (code.match(/\{/g)?.length ?? 0) - (code.match(/\}/g)?.length ?? 0);
        if (depth === 0) break;
        if (line !== '') body.push(line);
      }
      if (block[1] !== 'chain') {
        chains.push({ name: `${block[1]} ${block[2]}`, rules: body });
        continue;
      }
      const base = body.length > 0 ? parseBaseChain(body[0]!) : undefined;
      chains.push({ name: block[2]!, ...(base === undefined ? {} : { base }), rules: base ? body.slice(1) : body });
    }
    i++;
    tables.push({ kind: 'nft-table', family, name, chains, because: LIVE });
  }
  return tables;
}

/** `grep -H '' /proc/sys/a /proc/sys/b` → one sysctl per file that exists (`path:value` lines). */
export function parseSysctlLines(text: string): Sysctl[] {
  const sysctls: Sysctl[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (!line.startsWith('/proc/sys/') || colon < 0) continue;
    sysctls.push({
      kind: 'sysctl',
      path: line.slice('/proc/sys/'.length, colon),
      value: line.slice(colon + 1).trim(),
      because: LIVE,
    });
  }
  return sysctls;
}
