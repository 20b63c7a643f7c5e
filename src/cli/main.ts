import { enableCompileCache } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import packageJson from '../../package.json' with { type: 'json' };
import { defaultCacheDir } from '../config/cache-dir.ts';
import { type Io, UsageError } from './command.ts';
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
    '       vpc-cni --version',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `vpc-cni <command> --help` for the flags of one command.',
    'Exit codes: 0 success, 1 error or invalid input, 2 `plan --detailed-exitcode` found changes, `status`: not ready,',
    '            `explain`: the kernel differs, `doctor`: findings.',
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
  if (name === '--version' || name === '-V') {
    io.stdout(`${packageJson.version}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    io.stderr(`vpc-cni: unknown command "${name}"\n\n${overview()}`);
    return 1;
  }
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  const nodeOption = options.find((arg) => /^--env-file(-if-exists)?(=|$)/.test(arg));
  if (nodeOption !== undefined) {
    // It reached us only because the `--` in the bin's shebang kept it from Node; started any other way, Node would
    // have read that file into its own environment (and run its NODE_OPTIONS) before vpc-cni started.
    io.stderr(
      `vpc-cni ${name}: ${nodeOption.split('=')[0]} is Node's own option (Node reads it even after a script name); ` +
        'pass the env file as --environment-file FILE\n',
    );
    return 1;
  }
  const command = await entry.load();
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

/**
 * A closed stdout is how a reader says "enough" (`vpc-cni config | head -1`): end quietly with 0, as standard tools
 * do, instead of an unhandled EPIPE. Any other write failure is one line and exit 1.
 */
function onStreamError(error: NodeJS.ErrnoException): void {
  if (error.code === 'EPIPE') process.exit(0);
  process.stderr.write(`vpc-cni: cannot write output: ${error.message}\n`);
  process.exit(1);
}

/** The process entry (bin/vpc-cni.js calls it from the bundle): `main` on the real streams and exit code. */
export async function runAsProcess(argv: readonly string[]): Promise<void> {
  // Compiling a command's chunks (zod, yaml, the SDKs) is most of a start; V8 keeps the compiled code on disk and
  // checks it against the source before use.
  enableCompileCache(join(defaultCacheDir(), 'compile'));
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  process.exitCode = await main(argv);
}
