import { bounded } from './echo.ts';
import { describeSource, type Source } from './sources.ts';

/**
 * One configuration problem, as data (zod's issue model): rendering is separate, so the CLI prints the same list as
 * text lines or JSON. Errors make the configuration invalid; warnings never do, but are never silent either.
 */
export interface ConfigIssue {
  readonly severity: 'error' | 'warning';
  readonly code:
    | 'invalid_value'
    | 'conflict'
    | 'unknown_key'
    | 'ignored'
    | 'deprecated'
    | 'empty_value'
    | 'dropped'
    | 'bad_source';
  /** The setting (or file location for `bad_source`). */
  readonly key: string;
  readonly value?: string;
  readonly allowed?: string;
  readonly source?: Source;
  /** Why, in one sentence, without key/value/source (the formatter adds those). */
  readonly reason: string;
  readonly suggestion?: string;
}

function quote(value: string): string {
  const shown = bounded(value);
  return shown === '' || /[\s"'=]/.test(shown) ? JSON.stringify(shown) : shown;
}

/** `error: AWS_VPC_ENI_MTU=99999 (environment): out of range; allowed: an integer in 576–9001` */
export function formatIssue(issue: ConfigIssue): string {
  // Keys are echoed short too: an unknown key in a hostile file can be megabytes long.
  const key = bounded(issue.key);
  const subject = issue.value === undefined ? key : `${key}=${quote(issue.value)}`;
  const where = issue.source ? ` (${describeSource(issue.source)})` : '';
  const allowed = issue.allowed ? `; allowed: ${issue.allowed}` : '';
  const hint = issue.suggestion ? `; did you mean ${issue.suggestion}?` : '';
  return `${issue.severity}: ${subject}${where}: ${issue.reason}${allowed}${hint}`;
}

/** Thrown by callers that cannot go on with an invalid configuration; carries every issue, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration:\n${issues.map(formatIssue).join('\n')}`);
    this.issues = issues;
  }
}
