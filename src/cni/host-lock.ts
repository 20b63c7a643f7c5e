/**
 * The host namespace's apply lock, held around a pod's wiring and unwiring. The agent compiles its host plan from the
 * pods whose veths exist and applies it under this lock, so it must never find a veth whose route and rules are half
 * written (it would add them itself, and the plugin's own `rule add` would then fail on the duplicate).
 *
 * The lock is a kernel flock(2) (src/lib/apply-lock.ts names the file), held by a `flock … cat` child reading a pipe
 * from us: the plugin cannot call flock itself, and the kernel drops the lock when the child's stdin closes, including
 * when the plugin is killed. No lock directory means no agent or `apply` has ever run here: nothing to exclude.
 */
import { existsSync, statSync } from 'node:fs';
import { applyLockFile, LOCK_DIR } from '../lib/apply-lock.ts';
import { CniError, ErrorCode } from './spec.ts';
import { childProcesses, tool } from './tools.ts';

/** Seconds to wait for an agent's apply to finish; a host-plan apply takes well under one. */
const WAIT_S = 30;
const READY = 'locked\n';

function acquire(file: string): Promise<() => Promise<void>> {
  const child = childProcesses().spawn(tool('flock'), ['--exclusive', '--wait', String(WAIT_S), file, tool('cat')], {
    env: {},
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  return new Promise((resolve, reject) => {
    let seen = '';
    child.on('error', (e) => reject(new CniError(ErrorCode.ioFailure, `cannot run flock: ${e.message}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (!seen.includes(READY)) return;
      child.stdout.resume();
      resolve(async () => {
        child.stdin.end();
        await exited;
      });
    });
    void exited.then((code) =>
      reject(
        new CniError(
          ErrorCode.tryAgainLater,
          `the host's apply lock ${file} was not free within ${WAIT_S} s (flock exit ${code}); an apply is in progress`,
        ),
      ),
    );
    child.stdin.write(READY);
  });
}

export async function withHostLock<T>(fn: () => Promise<T>): Promise<T> {
  if (!existsSync(LOCK_DIR)) return fn();
  const release = await acquire(applyLockFile(LOCK_DIR, statSync('/proc/self/ns/net').ino));
  try {
    return await fn();
  } finally {
    await release();
  }
}
