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

export interface RollbackOutcome {
  /** True when the namespace was converged back to the state captured before the apply. */
  readonly ok: boolean;
  readonly error?: Error;
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
    const rollback =
      options.rollback === undefined
        ? []
        : options.rollback.ok
          ? ['rolled back: the namespace is back to its state before the apply']
          : [`ROLLBACK FAILED, the namespace is partly changed: ${options.rollback.error?.message}`];
    super([shortMessage, ...lines, ...rollback].join('\n'), { cause: options.cause });
    this.step = step;
    this.shortMessage = shortMessage;
    this.lines = lines;
    this.rollback = options.rollback;
  }
}
