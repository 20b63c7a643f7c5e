import { parseArgs } from 'node:util';
import { type Command, type Io, UsageError } from './command.ts';
import { commands } from './commands/index.ts';

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
};

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'vpc-cni: gives Kubernetes pods AWS VPC addresses from ENIs (a declarative Amazon VPC CNI).',
    '',
    'Usage: vpc-cni <command> [flags]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `vpc-cni <command> --help` for the flags of one command.',
    'Exit codes: 0 success, 1 error or invalid input, 2 `plan --detailed-exitcode` found changes.',
    '',
  ].join('\n');
}

/** Runs one CLI invocation and returns its exit code. */
export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(overview());
    return name === undefined ? 1 : 0;
  }
  const command: Command | undefined = commands.find((c) => c.name === name);
  if (command === undefined) {
    io.stderr(`vpc-cni: unknown command "${name}"\n\n${overview()}`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(command.help.endsWith('\n') ? command.help : `${command.help}\n`);
    return 0;
  }
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: command.options,
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    return await command.run({ values, positionals, io });
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`vpc-cni ${name}: ${(error as Error).message}\nRun \`vpc-cni ${name} --help\` for usage.\n`);
      return 1;
    }
    io.stderr(`vpc-cni ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}
