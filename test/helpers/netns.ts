import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';

/**
 * Network namespaces for kernel tests. Each test creates its own uniquely named namespaces (`vc-<area>-<hex>`) and
 * they are deleted in `t.teardown`, which runs even when the test fails. Commands are argument arrays, never shell.
 */

export interface TestNetns {
  readonly name: string;
  readonly path: string;
  /** Runs a command inside the namespace and returns its stdout (throws on a non-zero exit). */
  exec(file: string, args: readonly string[], input?: string): Promise<string>;
  /** `ip -n NAME ...`. */
  ip(args: readonly string[]): Promise<string>;
}

/** System tools only: under npm, node_modules/.bin comes first in PATH and holds an unrelated `nft`. */
const SYSTEM_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

async function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const env = { PATH: SYSTEM_PATH };
  const result = await execa(file, args, input === undefined ? { stdin: 'ignore', env } : { input, env });
  return result.stdout;
}

/** True when this process may create namespaces (kernel tests skip, saying why, when it may not). */
export const canCreateNetns = process.getuid?.() === 0;

export async function createNetns(t: ExecutionContext, area: string): Promise<TestNetns> {
  const name = `vc-${area}-${randomBytes(4).toString('hex')}`;
  await run('ip', ['netns', 'add', name]);
  t.teardown(() => run('ip', ['netns', 'del', name]).then(() => undefined));
  const ns: TestNetns = {
    name,
    path: `/var/run/netns/${name}`,
    exec: (file, args, input) => run('ip', ['netns', 'exec', name, file, ...args], input),
    ip: (args) => run('ip', ['-n', name, ...args]),
  };
  await ns.ip(['link', 'set', 'lo', 'up']);
  return ns;
}

export interface VethSpec {
  /** Interface name inside `ns`, e.g. `eth0`. */
  readonly name: string;
  readonly mac?: string;
  /** Address with prefix length, e.g. `10.0.1.5/24`. */
  readonly cidr?: string;
  readonly mtu?: number;
  /** The other end's namespace and name (e.g. the "VPC" namespace). */
  readonly peer: TestNetns;
  readonly peerName: string;
  readonly peerCidr?: string;
}

/** A veth pair between two namespaces, both ends up, with optional MAC, MTU and addresses. */
export async function addVeth(ns: TestNetns, spec: VethSpec): Promise<void> {
  const temp = `vct${randomBytes(4).toString('hex')}`;
  await ns.ip(['link', 'add', spec.name, 'type', 'veth', 'peer', 'name', temp]);
  await ns.ip(['link', 'set', temp, 'netns', spec.peer.name]);
  await spec.peer.ip(['link', 'set', temp, 'name', spec.peerName]);
  if (spec.mac !== undefined) await ns.ip(['link', 'set', spec.name, 'address', spec.mac]);
  if (spec.mtu !== undefined) await ns.ip(['link', 'set', spec.name, 'mtu', String(spec.mtu)]);
  if (spec.cidr !== undefined) await ns.ip(['address', 'add', spec.cidr, 'dev', spec.name]);
  if (spec.peerCidr !== undefined) await spec.peer.ip(['address', 'add', spec.peerCidr, 'dev', spec.peerName]);
  await ns.ip(['link', 'set', spec.name, 'up']);
  await spec.peer.ip(['link', 'set', spec.peerName, 'up']);
}
