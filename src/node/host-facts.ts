/**
 * The node facts IMDS cannot know, read from this host: the Linux name of each ENI (found by MAC; never assume eth0)
 * and the iptables backend. Runs `ip` and `iptables` with execa (argument arrays only).
 */
import { execa } from 'execa';
import { type IptablesMode, iptablesModeFromVersion, type NodeFacts } from '../compiler/facts.ts';

export interface KernelLink {
  readonly ifname: string;
  readonly address?: string;
}

/** Links of the host (or of the named network namespace), from `ip -json link show`. */
export async function listLinks(netns?: string): Promise<KernelLink[]> {
  const args = [...(netns === undefined ? [] : ['-n', netns]), '-json', 'link', 'show'];
  const { stdout } = await execa('ip', args);
  return JSON.parse(stdout) as KernelLink[];
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
export async function detectIptablesMode(): Promise<IptablesMode> {
  const { stdout } = await execa('iptables', ['--version']);
  return iptablesModeFromVersion(stdout);
}
