/**
 * A pod's wiring in the kernel, as the reference plugin makes it (reference §3.3): a veth pair whose host end is named
 * from the pod, the pod end with the /32, 169.254.1.1 as a permanent neighbour at the host end's MAC and the default
 * route through it; on the host the /32 route, `to <ip> lookup main` at 512 and, for a secondary ENI's address,
 * `from <ip> lookup <table>` at 1536. Writes are batched, one `ip -batch` per namespace and step.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { POD_GATEWAY_V4, PodRulePriority } from '../lib/pod-wiring.ts';
import { withHostLock } from './host-lock.ts';
import { MAIN_TABLE, type Wiring } from './result.ts';
import { CniError, ErrorCode } from './spec.ts';
import { optionalTool, run, tool } from './tools.ts';

/** A random, locally administered unicast MAC for the host end, as the reference generates it. */
export function hostMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) | 2) & 0xfe;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

async function batch(where: string, lines: readonly string[], netns?: string): Promise<void> {
  const input = `${lines.join('\n')}\n`;
  const result =
    netns === undefined
      ? await run(tool('ip'), ['-batch', '-'], input)
      : await run(tool('nsenter'), [`--net=${netns}`, tool('ip'), '-batch', '-'], input);
  if (result.code !== 0) {
    throw new CniError(
      ErrorCode.wiringFailed,
      `${where}: ${result.stderr.trim().slice(0, 1024) || `ip exited ${result.code}`}`,
    );
  }
}

/** Deletes that may find nothing (a second DEL, a namespace already gone): `-force` goes on past each miss. */
async function forceBatch(lines: readonly string[]): Promise<void> {
  if (lines.length > 0) await run(tool('ip'), ['-force', '-batch', '-'], `${lines.join('\n')}\n`);
}

function linkExists(name: string): boolean {
  // /sys/class/net shows the namespace this process runs in (ip netns exec remounts it for the namespace).
  return existsSync(`/sys/class/net/${name}`);
}

function hostTeardownLines(ip: string, hostVeth: string | undefined): string[] {
  const lines = [
    `rule del to ${ip}/32 priority ${PodRulePriority.toPod}`,
    `rule del from ${ip}/32 priority ${PodRulePriority.fromPod}`,
    `route del ${ip}/32 table main scope link`,
  ];
  if (hostVeth !== undefined && linkExists(hostVeth)) lines.push(`link del ${hostVeth}`);
  return lines;
}

/** Undoes each step taken so far, newest first, when a later one fails. */
class CleanupStack {
  readonly #undo: Array<() => Promise<void>> = [];
  push(undo: () => Promise<void>): void {
    this.#undo.push(undo);
  }
  async unwind(): Promise<void> {
    for (const undo of this.#undo.reverse()) await undo().catch(() => undefined);
  }
}

async function hostVethSysctls(hostVeth: string): Promise<void> {
  // Before link-up, as the reference: no router advertisements on the host end, and it never forwards IPv6 itself.
  const settings: Array<[string, string]> = [
    ['accept_ra', '0'],
    ['accept_redirects', '1'],
    ['forwarding', '0'],
  ];
  for (const [key, value] of settings) {
    await writeFile(`/proc/sys/net/ipv6/conf/${hostVeth}/${key}`, value).catch((error: NodeJS.ErrnoException) => {
      // IPv6 disabled on the host: the keys do not exist, and there is nothing to turn off.
      if (error.code !== 'ENOENT') {
        throw new CniError(ErrorCode.wiringFailed, `setting net.ipv6.conf.${hostVeth}.${key}: ${error.message}`);
      }
    });
  }
}

/**
 * Wires the pod, holding the host's apply lock; on any failure what was done is undone before the error is thrown.
 */
export function wirePod(w: Wiring, mtu: number): Promise<void> {
  return withHostLock(() => wire(w, mtu));
}

async function wire(w: Wiring, mtu: number): Promise<void> {
  const cleanup = new CleanupStack();
  try {
    // A host end left by an earlier attempt of this pod, and rules of this address left by a crashed DEL.
    await forceBatch(hostTeardownLines(w.ip, w.hostVeth));
    await batch('creating the veth pair', [
      `link add ${w.hostVeth} mtu ${mtu} address ${w.hostMac} type veth peer name ${w.ifName} mtu ${mtu} netns ${w.netns}`,
    ]);
    // Deleting the host end takes the pod end with it.
    cleanup.push(() => forceBatch([`link del ${w.hostVeth}`]));
    await hostVethSysctls(w.hostVeth);
    await batch(
      'configuring the pod side',
      [
        'link set lo up',
        `link set ${w.ifName} up`,
        `route replace ${POD_GATEWAY_V4}/32 dev ${w.ifName} scope link`,
        `route add default via ${POD_GATEWAY_V4} dev ${w.ifName}`,
        `addr add ${w.ip}/32 dev ${w.ifName}`,
        `neigh add ${POD_GATEWAY_V4} lladdr ${w.hostMac} dev ${w.ifName} nud permanent`,
      ],
      w.netns,
    );
    cleanup.push(() => forceBatch(hostTeardownLines(w.ip, undefined)));
    const lines = [
      `link set ${w.hostVeth} up`,
      `route replace ${w.ip}/32 dev ${w.hostVeth} scope link table main`,
      `rule add to ${w.ip}/32 lookup main priority ${PodRulePriority.toPod}`,
    ];
    if (w.table !== MAIN_TABLE)
      lines.push(`rule add from ${w.ip}/32 lookup ${w.table} priority ${PodRulePriority.fromPod}`);
    await batch('configuring the host side', lines);
  } catch (error) {
    await cleanup.unwind();
    throw error;
  }
}

/** Removes a pod's host side; every step tolerates finding nothing, so DEL may run any number of times. */
export async function unwirePod(ip: string | undefined, hostVeth: string | undefined): Promise<void> {
  await withHostLock(async () => {
    if (ip !== undefined) await forceBatch(hostTeardownLines(ip, hostVeth));
    else if (hostVeth !== undefined && linkExists(hostVeth)) await forceBatch([`link del ${hostVeth}`]);
  });
  if (ip !== undefined) await forgetConnections(ip);
}

/**
 * The pod's connections leave the host's conntrack table with it: the address goes back to the pool, and an entry
 * that outlived its pod (a TCP flow stays for days) would hand the next pod on that address replies, or an SNAT
 * mapping, meant for the old one. Without conntrack-tools on the host the entries are left to expire.
 */
async function forgetConnections(ip: string): Promise<void> {
  const conntrack = optionalTool('conntrack');
  if (conntrack === undefined) return;
  // Exit status 1 means no entry matched, which is the usual case and not an error.
  await Promise.all([run(conntrack, ['-D', '-s', ip]), run(conntrack, ['-D', '-d', ip])]);
}

interface IpJson {
  readonly [key: string]: unknown;
}

async function jsonBatch(lines: readonly string[], netns?: string): Promise<IpJson[][]> {
  const input = `${lines.join('\n')}\n`;
  const args = ['-json', '-force', '-batch', '-'];
  const result =
    netns === undefined
      ? await run(tool('ip'), args, input)
      : await run(tool('nsenter'), [`--net=${netns}`, tool('ip'), ...args], input);
  return result.stdout
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => {
      try {
        return JSON.parse(l) as IpJson[];
      } catch {
        return [];
      }
    });
}

/** What CHECK finds different from the wiring; empty when the kernel matches. */
export async function inspectPod(w: Omit<Wiring, 'hostMac' | 'deviceNumber'>): Promise<string[]> {
  const problems: string[] = [];
  if (!linkExists(w.hostVeth)) return [`host veth ${w.hostVeth} does not exist`];
  const [addrs = [], routes = [], neighs = []] = await jsonBatch(
    [`addr show dev ${w.ifName}`, 'route show default', `neigh show ${POD_GATEWAY_V4} dev ${w.ifName}`],
    w.netns,
  );
  const infos = addrs.flatMap((a) => (a.addr_info as IpJson[] | undefined) ?? []);
  if (!infos.some((i) => i.local === w.ip && i.prefixlen === 32)) problems.push(`pod ${w.ifName} lacks ${w.ip}/32`);
  if (!routes.some((r) => r.gateway === POD_GATEWAY_V4 && r.dev === w.ifName)) {
    problems.push(`pod has no default route via ${POD_GATEWAY_V4} dev ${w.ifName}`);
  }
  if (!neighs.some((n) => Array.isArray(n.state) && n.state.includes('PERMANENT'))) {
    problems.push(`pod has no permanent neighbour ${POD_GATEWAY_V4}`);
  }
  const [hostRoutes = [], rules = []] = await jsonBatch([`route show ${w.ip}/32 table main`, 'rule show']);
  if (!hostRoutes.some((r) => r.dev === w.hostVeth)) problems.push(`host has no route ${w.ip}/32 dev ${w.hostVeth}`);
  const rule = (pref: number, key: 'src' | 'dst', table: string) =>
    rules.some((r) => r.priority === pref && r[key] === w.ip && String(r.table) === table);
  if (!rule(PodRulePriority.toPod, 'dst', 'main'))
    problems.push(`host has no rule to ${w.ip} lookup main priority 512`);
  if (w.table !== MAIN_TABLE && !rule(PodRulePriority.fromPod, 'src', String(w.table))) {
    problems.push(`host has no rule from ${w.ip} lookup ${w.table} priority 1536`);
  }
  return problems;
}
