/**
 * The node facts IMDS cannot know, read from this host: the Linux name of each ENI (found by MAC; never assume eth0)
 * and the iptables backend. Both go through the applier's Runner: argument arrays, the system PATH, the namespace it is
 * bound to.
 */
import { parseIpAddr } from '../apply/parse.ts';
import type { Runner } from '../apply/run.ts';
import { type IptablesMode, iptablesModeFromVersion, type NodeFacts } from '../compiler/facts.ts';

export interface KernelLink {
  readonly ifname: string;
  readonly address?: string;
  /** Administratively up (IFF_UP): a route through a link that is down is refused by the kernel. */
  readonly up: boolean;
}

/** Links of the runner's namespace, from `ip -json link show` read by the applier's parser. */
export async function listLinks(runner: Runner): Promise<KernelLink[]> {
  const { stdout } = await runner.ip(['-json', 'link', 'show']);
  return parseIpAddr(stdout).links.map((link) => ({ ifname: link.name, address: link.mac, up: link.up }));
}

export interface NamedFacts {
  readonly facts: NodeFacts;
  /** ENIs whose MAC no link has (e.g. attached a moment ago, before udev renamed it). */
  readonly unresolved: readonly NodeFacts['enis'][number][];
}

/** Pure: fills `interfaceName` of every ENI whose MAC a link carries (MACs compare case-insensitively). */
export function withInterfaceNames(facts: NodeFacts, links: readonly KernelLink[]): NamedFacts {
  const byMac = new Map(links.filter((l) => l.address).map((l) => [l.address!.toLowerCase(), l.ifname]));
  const enis = facts.enis.map((eni) => {
    const name = byMac.get(eni.mac);
    return name === undefined ? eni : { ...eni, interfaceName: name };
  });
  return { facts: { ...facts, enis }, unresolved: enis.filter((e) => e.interfaceName === undefined) };
}

/** The reference's detection: `iptables --version` output containing "legacy" → legacy, else nf_tables. */
export async function detectIptablesMode(runner: Runner): Promise<IptablesMode> {
  const { stdout } = await runner.inNetns('iptables', ['--version']);
  return iptablesModeFromVersion(stdout);
}
