/**
 * A tiny packet tracer over a HostPlan (in the spirit of kube-proxy's nftablesTracer): it walks the planned mangle and
 * nat rules and the nft table for the first packet of a connection, picks the route table by the planned ip rules, and
 * says what happens: which marks are set, which table routes it, and whether POSTROUTING SNATs it. Tests assert what
 * a rule MEANS with it rather than how it is spelled. Only the matches and targets the compiler emits are understood;
 * anything else throws, so a new rule shape cannot be silently ignored.
 */

import type { HostPlan, IptablesRule, IptablesTable, NftTable } from '../../src/compiler/plan.ts';
import { ipv4InCidr } from '../../src/lib/address.ts';

export interface Packet {
  readonly src: string;
  readonly dst: string;
  /** Interface the packet arrived on (a pod's host veth, or the primary ENI for NodePort traffic). */
  readonly iif: string;
  /** The destination is one of the node's own addresses. */
  readonly dstLocal?: boolean;
}

export interface Trace {
  readonly connmark: number;
  readonly fwmark: number;
  /** Route table chosen by the planned ip rules (254 = main). */
  readonly table: number;
  /** Interface the chosen table routes through: the primary ENI for main, else the ENI owning the table. */
  readonly oif: string;
  /** `SNAT to <address>` or `no SNAT`. */
  readonly nat: string;
  /** Every rule that matched, for failure messages. */
  readonly steps: readonly string[];
}

interface State {
  connmark: number;
  fwmark: number;
  oif?: string;
  snat?: string;
  readonly steps: string[];
}

function interfaceMatches(pattern: string, name: string | undefined): boolean {
  if (name === undefined) return false;
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

type Verdict = { kind: 'continue' } | { kind: 'return' } | { kind: 'jump'; chain: string } | { kind: 'stop' };

/** Evaluates one iptables rule: undefined when it does not match, else its verdict (after applying its target). */
function evalIptables(args: readonly string[], packet: Packet, state: State): Verdict | undefined {
  let negate = false;
  let i = 0;
  const next = () => args[++i]!;
  for (; i < args.length; i++) {
    const token = args[i]!;
    const check = (ok: boolean) => {
      const matched = negate ? !ok : ok;
      negate = false;
      return matched;
    };
    switch (token) {
      case '!':
        negate = true;
        break;
      case '-d':
        if (!check(ipv4InCidr(packet.dst, next()))) return undefined;
        break;
      case '-i':
        if (!check(interfaceMatches(next(), packet.iif))) return undefined;
        break;
      case '-o':
        if (!check(interfaceMatches(next(), state.oif))) return undefined;
        break;
      case '-m':
        next(); // the match module; its options follow
        break;
      case '--comment':
        next();
        break;
      case '--dst-type':
        if (next() !== 'LOCAL') throw new Error(`tracer: unknown --dst-type in ${args.join(' ')}`);
        if (!check(packet.dstLocal === true)) return undefined;
        break;
      case '--limit-iface-in':
      case '--ctstate':
        if (token === '--ctstate') next(); // the first packet of a connection is NEW
        break;
      case '-j':
        return target(args.slice(i + 1), state);
      default:
        throw new Error(`tracer: unknown token "${token}" in ${args.join(' ')}`);
    }
  }
  return { kind: 'continue' };
}

function target(spec: readonly string[], state: State): Verdict {
  const [name, ...opts] = spec;
  const opt = (flag: string) => opts[opts.indexOf(flag) + 1]!;
  if (name === 'RETURN') return { kind: 'return' };
  if (name === 'SNAT') {
    state.snat = opt('--to-source');
    return { kind: 'stop' };
  }
  if (name === 'REJECT') return { kind: 'stop' };
  if (name === 'CONNMARK' && opts.includes('--set-xmark')) {
    const [value, mask] = opt('--set-xmark').split('/').map(Number) as [number, number];
    state.connmark = ((state.connmark & ~mask) ^ value) >>> 0;
    return { kind: 'continue' };
  }
  if (name === 'CONNMARK' && opts.includes('--restore-mark')) {
    const nfmask = Number(opt('--nfmask'));
    const ctmask = Number(opt('--ctmask'));
    state.fwmark = ((state.fwmark & ~nfmask) | (state.connmark & ctmask)) >>> 0;
    return { kind: 'continue' };
  }
  if (name?.startsWith('AWS-')) return { kind: 'jump', chain: name };
  throw new Error(`tracer: unknown target ${spec.join(' ')}`);
}

function walkIptables(
  rules: readonly IptablesRule[],
  table: IptablesTable,
  chain: string,
  packet: Packet,
  state: State,
): boolean {
  for (const rule of rules.filter((r) => r.table === table && r.chain === chain && r.family === 'inet')) {
    const verdict = evalIptables(rule.args, packet, state);
    if (verdict === undefined) continue;
    state.steps.push(`${table}/${chain}: ${rule.args.join(' ')}`);
    if (verdict.kind === 'return') return true;
    if (verdict.kind === 'stop') return false;
    if (verdict.kind === 'jump' && !walkIptables(rules, table, verdict.chain, packet, state)) return false;
  }
  return true;
}

/** Evaluates one nft rule statement list of the shapes the compiler emits. */
function evalNft(rule: string, packet: Packet, state: State): Verdict | undefined {
  const words = rule.split(' ');
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const rest = words.slice(i).join(' ');
    if (rest.startsWith('fib daddr type local')) {
      if (packet.dstLocal !== true) return undefined;
      i += 3;
    } else if (w === 'iifname') {
      const pattern = JSON.parse(words[++i]!) as string;
      if (!interfaceMatches(pattern.replace(/\*$/, '+'), packet.iif)) return undefined;
    } else if (w === 'ip' && words[i + 1] === 'daddr') {
      if (!ipv4InCidr(packet.dst, words[i + 2]!)) return undefined;
      i += 2;
    } else if (w === 'counter') {
      // counts, never decides
    } else if (w === 'return') {
      return { kind: 'return' };
    } else if (w === 'jump') {
      return { kind: 'jump', chain: words[i + 1]! };
    } else if (rest.startsWith('meta mark set ct mark & ')) {
      state.fwmark = (state.connmark & Number(words[i + 6])) >>> 0;
      return { kind: 'continue' };
    } else if (rest.startsWith('ct mark set ct mark | ')) {
      state.connmark = (state.connmark | Number(words[i + 6])) >>> 0;
      return { kind: 'continue' };
    } else {
      throw new Error(`tracer: unknown nft statement at "${rest}" in "${rule}"`);
    }
  }
  return { kind: 'continue' };
}

function walkNft(table: NftTable, chainName: string, packet: Packet, state: State): void {
  const chain = table.chains.find((c) => c.name === chainName);
  if (chain === undefined) throw new Error(`tracer: no chain ${chainName} in nft table ${table.name}`);
  for (const rule of chain.rules) {
    const verdict = evalNft(rule, packet, state);
    if (verdict === undefined) continue;
    state.steps.push(`nft ${chain.name}: ${rule}`);
    if (verdict.kind === 'return') return;
    if (verdict.kind === 'jump') walkNft(table, verdict.chain, packet, state);
  }
}

/** The first matching planned IPv4 rule by priority; main when none matches (the kernel's pref-32766 rule). */
function routeTable(plan: HostPlan, packet: Packet, fwmark: number): number {
  const matches = plan.rules
    .filter((r) => r.family === 'inet')
    .find(
      (r) =>
        (r.from === undefined || ipv4InCidr(packet.src, r.from)) &&
        (r.to === undefined || ipv4InCidr(packet.dst, r.to)) &&
        (r.fwmark === undefined || (fwmark & r.fwmark.mask) === r.fwmark.mark),
    );
  return matches?.table ?? 254;
}

export function trace(plan: HostPlan, packet: Packet): Trace {
  const state: State = { connmark: 0, fwmark: 0, steps: [] };
  const rules = plan.iptablesRules;
  // Hook order: mangle PREROUTING (-150), iptables nat PREROUTING (-100), nft nat-prerouting (-90), routing, nat POSTROUTING.
  walkIptables(rules, 'mangle', 'PREROUTING', packet, state);
  walkIptables(rules, 'nat', 'PREROUTING', packet, state);
  for (const table of plan.nftTables) {
    for (const chain of table.chains.filter((c) => c.base?.hook === 'prerouting'))
      walkNft(table, chain.name, packet, state);
  }
  const table = routeTable(plan, packet, state.fwmark);
  const eni = plan.routes.find((r) => r.table === table && r.dst === '0.0.0.0/0');
  state.oif = table === 254 ? plan.node.primaryInterface : (eni?.dev ?? `table ${table}`);
  walkIptables(rules, 'nat', 'POSTROUTING', packet, state);
  return {
    connmark: state.connmark,
    fwmark: state.fwmark,
    table,
    oif: state.oif,
    nat: state.snat === undefined ? 'no SNAT' : `SNAT to ${state.snat}`,
    steps: state.steps,
  };
}
