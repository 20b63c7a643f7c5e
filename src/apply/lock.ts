import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { applyLockFile, LOCK_DIR } from '../lib/apply-lock.ts';
import type { Netns } from './run.ts';

/**
 * One writer at a time per network namespace, across processes (CLI, agent). The lock is a kernel `flock(2)` on
 * `/run/vpc-cni/apply-net-<inode>.lock`, held by a `flock(1)` child of ours: Node cannot call flock itself, and a
 * kernel lock is released by the kernel when its holder dies, even by `kill -9`, so there is no stale-lock cleanup
 * to get wrong. The child runs `cat` on a pipe from us: when we exit for any reason the pipe closes, `cat` ends and
 * the lock is gone. Namespaces are keyed by their nsfs inode, so `--netns NAME` and `/proc/PID/ns/net` for the same
 * namespace share one lock. Inside `withApplyLock`, a nested call for the same namespace runs directly (the agent
 * holds the lock around a whole sync and calls `apply` inside it).
 */

export { LOCK_DIR } from '../lib/apply-lock.ts';
export const DEFAULT_LOCK_WAIT_S = 30;
const FLOCK = '/usr/bin/flock';
const CAT = '/bin/cat';
const READY = 'locked\n';

/** The `flock` child holding the lock (boxed: an async function returning the child itself would await its exit). */
interface Holder {
  readonly child: ResultPromise<{ stdin: 'pipe'; stdout: 'pipe'; stderr: 'pipe'; reject: false }>;
}

export class LockTimeoutError extends Error {
  override readonly name = 'LockTimeoutError';
  readonly holder: string | undefined;
  constructor(what: string, file: string, waitS: number, holder: string | undefined) {
    super(
      `another vpc-cni writer holds the apply lock for ${what} (${file}) and did not release it within ${waitS} s` +
        (holder === undefined ? '' : `; holder: ${holder}`),
    );
    this.holder = holder;
  }
}

export interface LockOptions {
  /** Seconds to wait for the lock before failing (default 30). */
  readonly waitS?: number;
  /** Directory of the lock files (default /run/vpc-cni; tests use their own). */
  readonly dir?: string;
}

const held = new AsyncLocalStorage<ReadonlySet<string>>();

function describeNetns(netns: Netns): string {
  if (netns.kind === 'current') return 'the current network namespace';
  return `network namespace ${netns.name ?? netns.path}`;
}

async function netnsInode(netns: Netns): Promise<number> {
  const path = netns.kind === 'current' ? '/proc/self/ns/net' : netns.path;
  const info = await stat(path).catch((error: Error) => {
    throw new Error(`cannot lock ${describeNetns(netns)}: ${error.message}`, { cause: error });
  });
  return info.ino;
}

/** "pid 1234 (vpc-cni apply …) since 2026-…", or why that is unknown, for the timeout message. */
async function holderOf(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const match = /^pid (\d+) since (\S+)$/m.exec(text.slice(0, 512));
  if (match === null) return undefined;
  const command = await readFile(`/proc/${match[1]}/cmdline`, 'utf8').catch(() => undefined);
  const alive = command === undefined ? ' (no longer running; the lock is held by its remaining children)' : '';
  const shown = command === undefined ? '' : ` (${command.split('\0').join(' ').trim().slice(0, 200)})`;
  return `pid ${match[1]}${shown} since ${match[2]}${alive}`;
}

async function acquire(file: string, waitS: number): Promise<Holder> {
  const child = execa(FLOCK, ['--exclusive', '--wait', String(waitS), file, CAT], {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
    reject: false,
    env: { PATH: '/usr/bin:/bin' },
  });
  child.stdin.write(READY);
  const ready = await new Promise<boolean>((resolve) => {
    let seen = '';
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(READY)) resolve(true);
    });
    child.then(() => resolve(false));
  });
  if (!ready) {
    const result = await child;
    if (result.exitCode === 1) throw new LockTimeoutError('', file, waitS, await holderOf(file));
    throw new Error(`${FLOCK} ${file} failed: ${String(result.stderr).trim() || result.shortMessage}`);
  }
  // Anything else on stdout is ours echoed back; keep the pipe drained.
  child.stdout.resume();
  return { child };
}

/**
 * Runs `fn` holding the apply lock of `netns`, waiting up to `waitS` seconds for another writer to finish.
 * Throws LockTimeoutError, naming the holder, when it does not.
 */
export async function withApplyLock<T>(netns: Netns, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const dir = options.dir ?? LOCK_DIR;
  const file = applyLockFile(dir, await netnsInode(netns));
  const outer = held.getStore() ?? new Set<string>();
  if (outer.has(file)) return fn();
  const waitS = options.waitS ?? DEFAULT_LOCK_WAIT_S;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let holder: Holder;
  try {
    holder = await acquire(file, waitS);
  } catch (error) {
    if (error instanceof LockTimeoutError) throw new LockTimeoutError(describeNetns(netns), file, waitS, error.holder);
    throw error;
  }
  try {
    await writeFile(file, `pid ${process.pid} since ${new Date().toISOString()}\n`, { mode: 0o600 });
    return await held.run(new Set([...outer, file]), fn);
  } finally {
    holder.child.stdin.end();
    await holder.child;
  }
}
