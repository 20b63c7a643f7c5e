import { readFile, writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';

/**
 * The only way `src/apply` touches the kernel. A Runner is bound to one network namespace for its whole life
 * (a thread's namespace is ambient state in Linux; here it is an explicit value), builds argument arrays only
 * (never a shell string) and counts the processes it spawns so the benchmark and the tests can hold the applier
 * to a constant number of spawns.
 */

/** Where commands run: the caller's own namespace, or a namespace file (`/var/run/netns/NAME`, `/proc/PID/ns/net`). */
export type Netns =
  | { readonly kind: 'current' }
  | { readonly kind: 'path'; readonly path: string; readonly name?: string };

export const currentNetns: Netns = { kind: 'current' };

/**
 * Kernel tools are looked up in the system directories only: under `npm`/`npx`, PATH starts with
 * node_modules/.bin, where a package's `nft` (a Node file tracer) would shadow nftables' `nft`.
 */
const SYSTEM_PATH = '/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin';

/** A named namespace as created by `ip netns add NAME`. */
export function namedNetns(name: string): Netns {
  if (!/^[\w.-]+$/.test(name)) throw new Error(`invalid network namespace name "${name}"`);
  return { kind: 'path', path: `/var/run/netns/${name}`, name };
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
  /** The command as a reader would type it, for error messages. */
  readonly command: string;
}

/** A command that exited non-zero; carries its output so callers can point at the failing line. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  readonly result: RunResult;
  constructor(result: RunResult) {
    const detail = result.stderr.trim() || result.stdout.trim();
    super(`${result.command} exited ${result.exitCode}${detail ? `: ${detail}` : ''}`);
    this.result = result;
  }
}

export interface RunOptions {
  readonly input?: string;
  /** Exit codes that are not failures (grep exits 2 when one of several files is missing). */
  readonly okExitCodes?: readonly number[];
}

const WATCH_OPTIONS = {
  buffer: false,
  reject: false,
  stdin: 'ignore',
  stderr: 'ignore',
  env: { PATH: SYSTEM_PATH },
} as const;

/** A process started by `Runner.watch`: its stdout is a stream, its promise settles when it exits. */
export type Watched = ResultPromise<typeof WATCH_OPTIONS>;

export class Runner {
  readonly netns: Netns;
  #spawns = 0;

  constructor(netns: Netns = currentNetns) {
    this.netns = netns;
  }

  /** Processes spawned so far. */
  get spawns(): number {
    return this.#spawns;
  }

  /** `ip` in the namespace: `ip -n NAME` for named namespaces (cheaper than nsenter), nsenter for other paths. */
  ip(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.netns.kind === 'path' && this.netns.name !== undefined) {
      return this.run('ip', ['-n', this.netns.name, ...args], options);
    }
    return this.inNetns('ip', args, options);
  }

  /** Any other tool, entered into the namespace with `nsenter --net=PATH` when it is not the current one. */
  inNetns(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return this.run(...this.#entered(file, args), options);
  }

  /**
   * A long-lived tool in the namespace (`ip monitor`, `nft monitor`) whose output the caller reads as it comes;
   * never rejects (the caller sees the exit and decides), and the caller kills it.
   */
  watch(file: string, args: readonly string[]): Watched {
    this.#spawns++;
    return execa(...this.#entered(file, args), WATCH_OPTIONS);
  }

  #entered(file: string, args: readonly string[]): [string, readonly string[]] {
    if (this.netns.kind === 'current') return [file, args];
    return ['nsenter', [`--net=${this.netns.path}`, file, ...args]];
  }

  /**
   * Reads /proc/sys files of this namespace. /proc/sys/net shows the namespace of the reader, so outside our own
   * namespace one `grep -H` inside it reads every file at once; missing files are simply absent from the output.
   */
  async readProcSys(paths: readonly string[]): Promise<string> {
    if (paths.length === 0) return '';
    const files = paths.map((p) => `/proc/sys/${p}`);
    if (this.netns.kind === 'current') {
      const lines = await Promise.all(
        files.map(async (f) => {
          const value = await readFile(f, 'utf8').catch(() => undefined);
          return value === undefined ? '' : `${f}:${value.trim()}\n`;
        }),
      );
      return lines.join('');
    }
    const result = await this.inNetns('grep', ['-H', '', ...files], { okExitCodes: [1, 2] });
    return result.stdout;
  }

  /** Writes /proc/sys values: directly in our own namespace, else one `sysctl -w` inside the namespace. */
  async writeProcSys(values: readonly { readonly path: string; readonly value: string }[]): Promise<void> {
    if (values.length === 0) return;
    if (this.netns.kind === 'current') {
      for (const { path, value } of values) {
        await writeFile(`/proc/sys/${path}`, value).catch((error: Error) => {
          throw new Error(`writing /proc/sys/${path}=${value}: ${error.message}`, { cause: error });
        });
      }
      return;
    }
    // Slash-separated keys keep interface names containing dots (vlan.eth.5) unambiguous.
    await this.inNetns('sysctl', ['-q', '-w', ...values.map(({ path, value }) => `${path}=${value}`)]);
  }

  async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.#spawns++;
    const result = await execa(file, args, {
      reject: false,
      stripFinalNewline: false,
      env: { PATH: SYSTEM_PATH },
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
    });
    const outcome: RunResult = {
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      exitCode: result.exitCode ?? -1,
      command: [file, ...args].join(' '),
    };
    if (result.failed && !(result.exitCode !== undefined && options.okExitCodes?.includes(result.exitCode))) {
      if (result.exitCode === undefined) throw new Error(`${outcome.command}: ${result.shortMessage}`);
      throw new CommandError(outcome);
    }
    return outcome;
  }
}
