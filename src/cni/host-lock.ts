/**
 * The host namespace's apply lock, held around each of a pod's host-side writes. The agent compiles its host plan from
 * the pods whose veths exist and applies it under this lock, so it must never run between a pod's rule deletes and
 * adds, and a pod's batch never runs inside one of its applies.
 *
 * The lock is a kernel flock(2) (src/lib/apply-lock.ts names the file). The plugin cannot call flock itself, so the
 * batch that needs it runs as `flock … ip -batch -`: one process, the lock held exactly as long as the writes, and
 * dropped by the kernel if either is killed. No lock directory means no agent or `apply` has ever run here: nothing
 * to exclude.
 */
import { existsSync, statSync } from 'node:fs';
import { applyLockFile, LOCK_DIR } from '../lib/apply-lock.ts';
import { tool } from './tools.ts';

/** Seconds to wait for an agent's apply to finish; a host-plan apply takes well under one. */
export const LOCK_WAIT_S = 30;
/** flock's exit status when the wait ran out (EX_TEMPFAIL), chosen so it cannot be mistaken for ip's own. */
export const LOCK_TIMEOUT_EXIT = 75;

export interface Command {
  readonly file: string;
  readonly args: readonly string[];
  /** The lock file, when the command waits for it. */
  readonly lock?: string;
}

/** `file args` run holding the host's apply lock. */
export function underHostLock(file: string, args: readonly string[]): Command {
  if (!existsSync(LOCK_DIR)) return { file, args };
  const lock = applyLockFile(LOCK_DIR, statSync('/proc/self/ns/net').ino);
  return {
    file: tool('flock'),
    args: [
      '--exclusive',
      // ip runs in flock's place, holding the locked descriptor: no fork, and no process left between us and ip.
      '--no-fork',
      '--wait',
      String(LOCK_WAIT_S),
      '--conflict-exit-code',
      String(LOCK_TIMEOUT_EXIT),
      lock,
      file,
      ...args,
    ],
    lock,
  };
}
