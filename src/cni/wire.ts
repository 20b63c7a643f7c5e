/**
 * A pod's wiring in the kernel, as the reference plugin makes it (reference §3.3): a veth pair whose host end is named
 * from the pod, the pod end with the /32, 169.254.1.1 as a permanent neighbour at the host end's MAC and the default
 * route through it; on the host the /32 route, `to <ip> lookup main` at 512 and, for a secondary ENI's address,
 * `from <ip> lookup <table>` at 1536. Writes are batched: one `ip -batch` in the pod's namespace, begun with the pair
 * while the agent picks the address and finished with its address, and one in the host's, at the same time.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { POD_GATEWAY_V4, PodRulePriority } from '../lib/pod-wiring.ts';
import { type Command, LOCK_TIMEOUT_EXIT, LOCK_WAIT_S, underHostLock } from './host-lock.ts';
import { MAIN_TABLE, type Wiring } from './result.ts';
import { CniError, ErrorCode } from './spec.ts';
import { type FedProcess, optionalTool, type RunResult, run, start, tool } from './tools.ts';

/** A random, locally administered unicast MAC for the host end, as the reference generates it. */
export function hostMac(): string {
  const b = randomBytes(6);
  b[0] = ((b[0] ?? 0) | 2) & 0xfe;
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** One line of an `ip -batch`; `mayFail` for a delete that may find nothing (a second DEL, a crashed earlier ADD). */
interface Line {
  readonly text: string;
  readonly mayFail?: boolean;
}

const must = (text: string): Line => ({ text });
const mayFail = (text: string): Line => ({ text, mayFail: true });

/** iproute2 names each failed line of a `-force` batch on stderr as `Command failed -:<line number>`. */
function failedLines(stderr: string): number[] {
  return [...stderr.matchAll(/^Command failed -:(\d+)$/gm)].map((m) => Number(m[1]));
}

/**
 * Throws, saying what failed, unless every line that failed was allowed to. With `-force` ip goes on past a failed
 * line, so a batch of deletes and writes is still one process; without it ip stops at the first.
 */
function checkBatch(where: string, command: Command, lines: readonly Line[], result: RunResult): void {
  if (result.code === 0) return;
  if (command.lock !== undefined && result.code === LOCK_TIMEOUT_EXIT) {
    throw new CniError(
      ErrorCode.tryAgainLater,
      `${where}: the host's apply lock ${command.lock} was not free within ${LOCK_WAIT_S} s; an apply is in progress`,
    );
  }
  const failed = failedLines(result.stderr);
  if (failed.length > 0 && failed.every((n) => lines[n - 1]?.mayFail === true)) return;
  throw new CniError(
    ErrorCode.wiringFailed,
    `${where}: ${result.stderr.trim().slice(0, 1024) || `ip exited ${result.code}`}`,
  );
}

const text = (lines: readonly Line[]): string => lines.map((l) => `${l.text}\n`).join('');

async function batch(where: string, command: Command, lines: readonly Line[]): Promise<void> {
  if (lines.length === 0) return;
  checkBatch(where, command, lines, await run(command.file, command.args, text(lines)));
}

const ipBatch = (force: boolean): readonly string[] => (force ? ['-force', '-batch', '-'] : ['-batch', '-']);

/** A batch in the host namespace, holding the apply lock. */
function hostBatch(where: string, lines: readonly Line[]): Promise<void> {
  return batch(where, hostCommand(lines.some((l) => l.mayFail)), lines);
}

const hostCommand = (force: boolean): Command => underHostLock(tool('ip'), ipBatch(force));

/** Where container runtimes (containerd, CRI-O) pin a pod's namespace, and `ip -n NAME` finds it by name. */
const NAMED_NETNS = /^\/var\/run\/netns\/([^/]+)$/;

/**
 * `ip ARGS` inside the pod's namespace: `ip -n NAME` for a named one, which spares the extra exec of nsenter (a pod's
 * ADD is mostly process starts), and nsenter for a /proc/<pid>/ns/net path.
 */
function ipIn(netns: string, args: readonly string[]): Command {
  const name = NAMED_NETNS.exec(netns)?.[1];
  return name === undefined
    ? { file: tool('nsenter'), args: [`--net=${netns}`, tool('ip'), ...args] }
    : { file: tool('ip'), args: ['-n', name, ...args] };
}

function linkExists(name: string): boolean {
  // /sys/class/net shows the namespace this process runs in (ip netns exec remounts it for the namespace).
  return existsSync(`/sys/class/net/${name}`);
}

/** The pod rules of an address, which a crashed DEL may have left; either may find nothing. */
function ruleDeletes(ip: string): Line[] {
  return [
    mayFail(`rule del to ${ip}/32 priority ${PodRulePriority.toPod}`),
    mayFail(`rule del from ${ip}/32 priority ${PodRulePriority.fromPod}`),
  ];
}

/** Deletes of whatever a pod's address and host veth may have left on the host; each may find nothing. */
function hostTeardown(ip: string | undefined, hostVeth: string | undefined): Line[] {
  const lines = ip === undefined ? [] : [...ruleDeletes(ip), mayFail(`route del ${ip}/32 table main scope link`)];
  if (hostVeth !== undefined && linkExists(hostVeth)) lines.push(mayFail(`link del ${hostVeth}`));
  return lines;
}

/** Written synchronously: three tiny /proc writes cost less than three trips through libuv's thread pool. */
function hostVethSysctls(hostVeth: string): void {
  // Before link-up, as the reference: no router advertisements on the host end, and it never forwards IPv6 itself.
  const settings: Array<[string, string]> = [
    ['accept_ra', '0'],
    ['accept_redirects', '1'],
    ['forwarding', '0'],
  ];
  for (const [key, value] of settings) {
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${hostVeth}/${key}`, value);
    } catch (error) {
      // IPv6 disabled on the host: the keys do not exist, and there is nothing to turn off.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new CniError(
          ErrorCode.wiringFailed,
          `setting net.ipv6.conf.${hostVeth}.${key}: ${(error as Error).message}`,
        );
      }
    }
  }
}

/** The veth pair of a pod: what can be made before the agent has picked its address. */
export type VethPair = Pick<Wiring, 'hostVeth' | 'hostMac' | 'ifName' | 'netns'>;

/** Deleting the host end takes the pod end with it. */
export function removeVethPair(p: VethPair): Promise<void> {
  return hostBatch('removing the veth pair', hostTeardown(undefined, p.hostVeth));
}

/** ip prints nothing for the lines of a pod's batches: the output of this one says that all before it have run. */
const MARK = must('link show dev lo');

/**
 * A pod being wired. Its side is one `ip -batch` in its namespace, begun while the agent picks the address: it makes
 * the veth pair at once, inside the pod's namespace with the host end born in ours (named by /proc/<pid>, as the
 * reference makes it), the pod end up and the host end still down, and it is handed the pod side's address lines once
 * the agent has answered. The host side is a second batch, holding the apply lock, started as the answer arrives.
 */
export class PodWiring {
  readonly #pair: VethPair;
  readonly #podCommand: Command;
  readonly #pod: FedProcess;
  readonly #podLines: Line[];
  /** The pair exists and its host end's IPv6 sysctls are set; nothing is cleaned up here when it fails. */
  readonly #made: Promise<void>;
  readonly #hostCommand = hostCommand(true);
  #host: FedProcess | undefined;

  private constructor(pair: VethPair, mtu: number) {
    this.#pair = pair;
    this.#podCommand = ipIn(pair.netns, ipBatch(false));
    this.#pod = start(this.#podCommand.file, this.#podCommand.args);
    this.#podLines = [
      must(
        `link add ${pair.ifName} mtu ${mtu} type veth peer name ${pair.hostVeth} mtu ${mtu} address ${pair.hostMac} netns /proc/${process.pid}/ns/net`,
      ),
      must('link set lo up'),
      must(`link set ${pair.ifName} up`),
      MARK,
    ];
    this.#pod.write(text(this.#podLines));
    this.#made = this.#pod.spoke.then(async (spoke) => {
      if (!spoke) {
        checkBatch('making the veth pair', this.#podCommand, this.#podLines, await this.#pod.exited);
        throw new CniError(ErrorCode.wiringFailed, 'making the veth pair: ip ended before it was made');
      }
      hostVethSysctls(pair.hostVeth);
    });
    // Settled by whoever awaits it; this keeps a failure seen only after an abandon from being unhandled.
    this.#made.catch(() => undefined);
  }

  /** Begins the pair; a host end left by an earlier attempt of this pod is removed first, as it holds the name. */
  static async begin(pair: VethPair, mtu: number): Promise<PodWiring> {
    if (linkExists(pair.hostVeth)) await removeVethPair(pair);
    return new PodWiring(pair, mtu);
  }

  /**
   * Starts the host side's batch, which takes the apply lock and holds it until it is given its lines. Called as the
   * agent's answer begins to arrive, so that starting it overlaps reading the answer; never before, as the agent may
   * need the lock itself to ready an ENI before it can answer.
   */
  takeHostLock(): void {
    this.#hostBatch();
  }

  #hostBatch(): FedProcess {
    this.#host ??= start(this.#hostCommand.file, this.#hostCommand.args);
    return this.#host;
  }

  /**
   * The address on the pair: the /32, 169.254.1.1 as the permanent neighbour and the default route in the pod, and on
   * the host the veth up, its /32 route and the rules (after deleting any a crashed DEL of this address left), the two
   * sides at the same time. On any failure the pair and everything of this address on the host are removed.
   */
  async address(w: Wiring): Promise<void> {
    const lines = [
      must(`route replace ${POD_GATEWAY_V4}/32 dev ${w.ifName} scope link`),
      must(`route add default via ${POD_GATEWAY_V4} dev ${w.ifName}`),
      must(`addr add ${w.ip}/32 dev ${w.ifName}`),
      must(`neigh add ${POD_GATEWAY_V4} lladdr ${w.hostMac} dev ${w.ifName} nud permanent`),
    ];
    this.#podLines.push(...lines);
    this.#pod.end(text(lines));
    const podSide = this.#pod.exited.then((result) => {
      checkBatch('configuring the pod side', this.#podCommand, this.#podLines, result);
    });
    const hostLines = [
      ...ruleDeletes(w.ip),
      must(`link set ${w.hostVeth} up`),
      must(`route replace ${w.ip}/32 dev ${w.hostVeth} scope link table main`),
      must(`rule add to ${w.ip}/32 lookup main priority ${PodRulePriority.toPod}`),
      ...(w.table === MAIN_TABLE
        ? []
        : [must(`rule add from ${w.ip}/32 lookup ${w.table} priority ${PodRulePriority.fromPod}`)]),
    ];
    const host = this.#hostBatch();
    const hostSide = this.#made.then(
      async () => {
        host.end(text(hostLines));
        checkBatch('configuring the host side', this.#hostCommand, hostLines, await host.exited);
      },
      async (error: unknown) => {
        // No pair, nothing to write: the batch ends empty and lets go of the lock the teardown below waits for.
        host.end();
        await host.exited.catch(() => undefined);
        throw error;
      },
    );
    const sides = await Promise.allSettled([this.#made, podSide, hostSide]);
    const failed = sides.find((side) => side.status === 'rejected');
    if (failed === undefined) return;
    await hostBatch('undoing the wiring', hostTeardown(w.ip, w.hostVeth)).catch(() => undefined);
    throw failed.reason;
  }

  /** No address came: the pod's batch ends after the pair, and the pair goes. */
  async abandon(): Promise<void> {
    this.#host?.end();
    this.#pod.end();
    await this.#pod.exited.catch(() => undefined);
    await removeVethPair(this.#pair);
  }
}

/** Removes a pod's host side; every step tolerates finding nothing, so DEL may run any number of times. */
export async function unwirePod(ip: string | undefined, hostVeth: string | undefined): Promise<void> {
  if (ip === undefined) return hostBatch('tearing down the pod', hostTeardown(undefined, hostVeth));
  // The address's rules and route go first, then the veth, which the kernel takes its time over (an RCU grace
  // period): the connections are forgotten meanwhile, once nothing routes to the address any more.
  const lines = [...hostTeardown(ip, undefined), MARK, ...hostTeardown(undefined, hostVeth)];
  const command = hostCommand(true);
  const host = start(command.file, command.args);
  host.end(text(lines));
  const forgetting = host.spoke.then((unrouted) => (unrouted ? forgetConnections(ip) : undefined));
  try {
    checkBatch('tearing down the pod', command, lines, await host.exited);
  } finally {
    await forgetting;
  }
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
  const command = netns === undefined ? { file: tool('ip'), args } : ipIn(netns, args);
  const result = await run(command.file, command.args, input);
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
