/**
 * Errors of the applier. Like execa's errors they carry a one-line `shortMessage` (which step, which object), a
 * longer `message` with the failing payload lines, and the original error as `cause`.
 */

export type ApplyStep = 'read' | 'precondition' | 'write' | 'verify';

/** The failing line of a batch payload with `context` lines either side, the failing one marked with `>`. */
export function extractLines(payload: string, line: number, context = 3): string[] {
  const lines = payload.split('\n');
  const from = Math.max(1, line - context);
  const to = Math.min(lines.length, line + context);
  const out: string[] = [];
  for (let n = from; n <= to; n++) out.push(`${n === line ? '>' : ' '} ${String(n).padStart(4)} | ${lines[n - 1]}`);
  return out;
}

/** One backend's batch failed. `line` is the 1-based payload line the tool reported, when it did. */
export class WriteError extends Error {
  override readonly name = 'WriteError';
  readonly backend: string;
  readonly line: number | undefined;
  readonly lines: readonly string[];
  constructor(backend: string, payload: string, line: number | undefined, detail: string, cause: unknown) {
    super(`${backend} batch failed${line === undefined ? '' : ` at line ${line}`}: ${detail}`, { cause });
    this.backend = backend;
    this.line = line;
    this.lines = line === undefined ? [] : extractLines(payload, line);
  }
}

/**
 * What a rollback achieved, as seen by re-reading the namespace afterwards (never assumed from the writes exiting 0).
 */
export interface RollbackOutcome {
  /** True only when the re-read state equals the one captured before the apply, over everything it could touch. */
  readonly ok: boolean;
  /** How the re-read state still differs, one object per line (empty when ok, or when it could not be re-read). */
  readonly differs?: readonly string[];
  /** The rollback's own failure: a batch that failed, or the re-read. */
  readonly error?: Error;
}

/** Longest list of differences an error prints; the rest are counted. */
const MAX_DIFFERS = 20;

function rollbackLines(rollback: RollbackOutcome): string[] {
  if (rollback.ok) return ['rolled back: re-read, the namespace is as it was before the apply'];
  const differs = rollback.differs ?? [];
  if (differs.length === 0) {
    return [`ROLLBACK UNVERIFIED, the namespace could not be re-read: ${rollback.error?.message ?? 'unknown error'}`];
  }
  const shown = differs.slice(0, MAX_DIFFERS).map((line) => `  ${line}`);
  const more = differs.length > MAX_DIFFERS ? [`  … and ${differs.length - MAX_DIFFERS} more`] : [];
  const why = rollback.error === undefined ? [] : [`the rollback failed: ${rollback.error.message}`];
  return ['ROLLBACK INCOMPLETE, the namespace differs from its state before the apply:', ...shown, ...more, ...why];
}

export class ApplyError extends Error {
  override readonly name = 'ApplyError';
  readonly step: ApplyStep;
  readonly shortMessage: string;
  /** The failing batch line ± 3, when a batch failed. */
  readonly lines: readonly string[];
  readonly rollback: RollbackOutcome | undefined;
  constructor(
    step: ApplyStep,
    shortMessage: string,
    options: { cause?: unknown; lines?: readonly string[]; rollback?: RollbackOutcome },
  ) {
    const lines = options.lines ?? [];
    const rollback = options.rollback === undefined ? [] : rollbackLines(options.rollback);
    super([shortMessage, ...lines, ...rollback].join('\n'), { cause: options.cause });
    this.step = step;
    this.shortMessage = shortMessage;
    this.lines = lines;
    this.rollback = options.rollback;
  }
}
