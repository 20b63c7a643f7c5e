import type { Command } from '../command.ts';

/** Every subcommand, in the order `vpc-cni --help` lists them. Each command lives in its own module. */
export const commands: readonly Command[] = [];
