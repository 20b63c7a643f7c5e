import { execa } from 'execa';

/**
 * The simulated node's only way into the kernel: `ip` with argument arrays (never a shell string). System tools
 * only: under npm, PATH starts with node_modules/.bin, where an unrelated package's `nft` lives.
 */
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

async function run(args: readonly string[], input?: string): Promise<void> {
  const result = await execa('ip', args, {
    reject: false,
    env: { PATH: SYSTEM_PATH },
    extendEnv: false,
    ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
  });
  if (result.failed) {
    const detail = String(result.stderr ?? '').trim() || result.shortMessage;
    throw new Error(`ip ${args.join(' ')} failed: ${detail}`);
  }
}

export function addNetns(name: string): Promise<void> {
  return run(['netns', 'add', name]);
}

export function deleteNetns(name: string): Promise<void> {
  return run(['netns', 'del', name]);
}

/** Runs `ip` commands (one per line, `ip -batch` syntax) in the named namespace, in one process. */
export async function ipBatch(netns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return;
  try {
    await run(['-n', netns, '-batch', '-'], `${lines.join('\n')}\n`);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nbatch in ${netns}:\n${lines.join('\n')}`, { cause: error });
  }
}

/** Sets sysctls (`net/ipv4/ip_forward=1`) inside the named namespace, whose /proc/sys/net is its own. */
export function sysctl(netns: string, values: readonly string[]): Promise<void> {
  return run(['netns', 'exec', netns, 'sysctl', '-q', '-w', ...values]);
}
