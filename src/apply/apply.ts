import type { HostPlan } from '../compiler/plan.ts';
import { counted } from '../lib/counted.ts';
import { type ChangeSet, diff } from './diff.ts';
import { ApplyError, type ApplyStep, type RollbackOutcome, WriteError } from './errors.ts';
import type { LiveState } from './live.ts';
import { type LockOptions, withApplyLock } from './lock.ts';
import { readForPlan } from './read.ts';
import { changeLine } from './render.ts';
import { revert, rollbackDifferences, strayTables } from './revert.ts';
import type { Runner } from './run.ts';
import { verify } from './verify.ts';
import { write } from './write.ts';

/**
 * read → diff → write → verify; on any failure after the first write, converge back to the state read at the
 * start, re-read, and throw an ApplyError naming the step, the object or batch line, and what the re-read shows:
 * back as before, or exactly what still differs.
 * A no-op plan costs one read and no writes.
 */

export interface ApplyOptions {
  readonly dryRun?: boolean;
  /**
   * The changes a saved plan promised: the apply refuses (nothing written) unless the live state still needs exactly
   * these, i.e. the live objects they depend on are unchanged.
   */
  readonly expected?: ChangeSet;
  readonly progress?: (message: string) => void;
  /** How to take the namespace's apply lock (a dry run takes none: it only reads). */
  readonly lock?: LockOptions;
}

export interface ApplyResult {
  readonly changes: ChangeSet;
  readonly applied: boolean;
}

/** Lines describing how `live` no longer matches the changes a saved plan was made with ('' = still matches). */
export function preconditionFailures(expected: ChangeSet, actual: ChangeSet): string[] {
  const want = new Set(expected.map(changeLine));
  const have = new Set(actual.map(changeLine));
  return [
    ...[...want].filter((l) => !have.has(l)).map((l) => `no longer applies: ${l}`),
    ...[...have].filter((l) => !want.has(l)).map((l) => `not in the saved plan: ${l}`),
  ];
}

/**
 * Converges back to `captured`, deletes the iptables-nft tables the apply created once they are empty again, then
 * re-reads: the outcome is what the namespace shows, whatever the writes reported.
 */
async function rollBack(runner: Runner, captured: LiveState, plan: HostPlan): Promise<RollbackOutcome> {
  let error: Error | undefined;
  try {
    const now = await readForPlan(runner, plan);
    const back = revert(captured, now, plan);
    await write(runner, { changes: back.changes, desired: back.target, live: now });
    const after = await readForPlan(runner, plan);
    const stray = strayTables(captured, after);
    if (stray.length > 0) await write(runner, { changes: [], desired: back.target, live: after, dropTables: stray });
  } catch (caught) {
    error = caught as Error;
  }
  let differs: string[];
  try {
    differs = rollbackDifferences(captured, await readForPlan(runner, plan), plan);
  } catch (caught) {
    return { ok: false, error: caught as Error };
  }
  if (differs.length === 0) return { ok: true };
  return { ok: false, differs, ...(error === undefined ? {} : { error }) };
}

function failure(step: ApplyStep, error: unknown, rollback?: RollbackOutcome): ApplyError {
  if (error instanceof WriteError) {
    return new ApplyError(step, error.message, { cause: error, lines: error.lines, ...(rollback ? { rollback } : {}) });
  }
  // The step is the error's own field; the message is what went wrong in it (callers print `${step} failed: …`).
  const message = (error as Error).message;
  return new ApplyError(step, message, { cause: error, ...(rollback ? { rollback } : {}) });
}

/** One writer per namespace: the read, the writes and the rollback all happen under the namespace's apply lock. */
export function apply(runner: Runner, plan: HostPlan, options: ApplyOptions = {}): Promise<ApplyResult> {
  if (options.dryRun) return applyUnlocked(runner, plan, options);
  return withApplyLock(runner.netns, () => applyUnlocked(runner, plan, options), options.lock);
}

async function applyUnlocked(runner: Runner, plan: HostPlan, options: ApplyOptions): Promise<ApplyResult> {
  const progress = options.progress ?? (() => {});
  let live: LiveState;
  try {
    live = await readForPlan(runner, plan);
  } catch (error) {
    throw failure('read', error);
  }
  const changes = diff(plan, live);
  if (options.expected !== undefined) {
    const failures = preconditionFailures(options.expected, changes);
    if (failures.length > 0) {
      throw new ApplyError('precondition', 'the live state no longer matches the saved plan; nothing was applied', {
        lines: failures,
      });
    }
  }
  if (options.dryRun || changes.length === 0) return { changes, applied: false };
  progress(`applying ${counted(changes.length, 'change')}`);
  let step: ApplyStep = 'write';
  try {
    await write(runner, { changes, desired: plan, live });
    step = 'verify';
    progress('verifying');
    await verify(runner, plan);
  } catch (error) {
    progress(`${step} failed; rolling back`);
    throw failure(step, error, await rollBack(runner, live, plan));
  }
  return { changes, applied: true };
}
