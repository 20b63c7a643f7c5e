import { formatIssue } from '../compiler/settings/issues.ts';
import type { LoadedConfig } from '../config/load.ts';
import { counted } from '../lib/counted.ts';
import type { Io } from './command.ts';

/**
 * Prints every problem of a loaded configuration on stderr, errors then warnings (each list in file-line order, as
 * the parser sorts them), and for an invalid one a last line with the counts. Returns whether the command may go on.
 */
export function reportConfigIssues(loaded: LoadedConfig, io: Io): loaded is Extract<LoadedConfig, { ok: true }> {
  const errors = loaded.ok ? [] : loaded.errors;
  for (const issue of [...errors, ...loaded.warnings]) io.stderr(`${formatIssue(issue)}\n`);
  if (!loaded.ok) {
    io.stderr(
      `configuration is invalid: ${counted(errors.length, 'error')}, ${counted(loaded.warnings.length, 'warning')}\n`,
    );
  }
  return loaded.ok;
}
