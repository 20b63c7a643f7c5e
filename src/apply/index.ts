/**
 * The applier's public API, for the CLI and the agent: `apply` (read → diff → write → verify, rollback on failure)
 * and `withApplyLock`, the per-namespace writer lock `apply` itself takes (nested calls for the same namespace run
 * directly, so the agent may hold it around a whole sync).
 */
export { type ApplyOptions, type ApplyResult, apply } from './apply.ts';
export { ApplyError } from './errors.ts';
export { DEFAULT_LOCK_WAIT_S, LOCK_DIR, type LockOptions, LockTimeoutError, withApplyLock } from './lock.ts';
export { currentNetns, type Netns, namedNetns, Runner } from './run.ts';
