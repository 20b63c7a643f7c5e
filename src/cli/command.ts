import type { ParseArgsOptionsConfig } from 'node:util';

/** Where a command writes; tests pass buffers, the binary passes the process streams. */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export interface CommandInput {
  readonly values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  readonly positionals: readonly string[];
  readonly io: Io;
}

/**
 * One `vpc-cni` subcommand; its one-line summary lives in commands/index.ts, so `--help` loads no command module.
 * `help` is the full text printed by `vpc-cni <name> --help`: what the command does, then every flag. `run` returns
 * the process exit code; it never calls `process.exit` so tests can run it in-process.
 */
export interface Command {
  readonly name: string;
  readonly help: string;
  readonly options: ParseArgsOptionsConfig;
  readonly allowPositionals?: boolean;
  readonly run: (input: CommandInput) => Promise<number>;
}

/** Raised for bad flags; main prints the message and the command's usage, exit 1. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Reads `--output text|json`, the same way in every command. */
export function outputFormat(values: CommandInput['values']): 'text' | 'json' {
  const output = values.output ?? 'text';
  if (output !== 'text' && output !== 'json')
    throw new UsageError(`--output must be text or json, got ${String(output)}`);
  return output;
}

export const outputOption = { output: { type: 'string', short: 'o', default: 'text' } } as const;
