/**
 * `aws-cni`: the CNI plugin the container runtime runs on the host once per pod. It reads CNI_* from the environment
 * and the network configuration from stdin, writes one result or error object to stdout and exits 0 or 1, as the CNI
 * specification says. The runtime may give it an empty environment, so nothing here depends on PATH or HOME.
 */
import { startupSnapshot } from 'node:v8';
import { runCommand } from './commands.ts';
import { readInput, writeOutput } from './io.ts';
import { CniError, type Command, ErrorCode, errorObject, isCommand, LATEST_VERSION, versionInfo } from './spec.ts';
import { warmUp } from './warm-up.ts';

/** A configuration is a few KiB; anything near this is not one, and reading it unbounded would let a caller exhaust us. */
const MAX_STDIN_BYTES = 1024 * 1024;

/** The configuration's cniVersion when it can be read, so an error speaks the caller's version. */
function versionOf(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v.length <= 16 ? v : LATEST_VERSION;
  } catch {
    return LATEST_VERSION;
  }
}

function run(command: Command, stdin: string): Promise<unknown> {
  return command === 'VERSION' ? Promise.resolve(versionInfo()) : runCommand(command, process.env, stdin);
}

let answered = false;
/** Exactly one result or error object reaches stdout, whatever fails. */
function answer(line: string): void {
  if (answered) return;
  answered = true;
  writeOutput(line);
}

async function main(): Promise<number> {
  let stdin = '';
  // A failure outside the command's own promise chain (an event emitter's 'error') still ends in an error object,
  // not a bare stack trace the runtime cannot parse.
  process.on('uncaughtException', (error) => {
    answer(
      `${JSON.stringify(errorObject(versionOf(stdin), new CniError(ErrorCode.ioFailure, `aws-cni failed unexpectedly: ${String(error).slice(0, 512)}`)))}\n`,
    );
    process.exitCode = 1;
  });
  try {
    const raw = process.env.CNI_COMMAND;
    if (raw === undefined || !isCommand(raw)) {
      throw new CniError(
        ErrorCode.invalidEnvironment,
        `CNI_COMMAND ${raw === undefined ? 'is not set' : `${JSON.stringify(raw.slice(0, 32))} is not a CNI command`}; expected one of ADD, DEL, CHECK, VERSION, STATUS, GC`,
      );
    }
    stdin = readInput(MAX_STDIN_BYTES);
    const out = await run(raw, stdin);
    if (out !== undefined) answer(`${JSON.stringify(out)}\n`);
    return 0;
  } catch (error) {
    const cni =
      error instanceof CniError
        ? error
        : new CniError(ErrorCode.ioFailure, `aws-cni failed unexpectedly: ${String(error).slice(0, 512)}`);
    answer(`${JSON.stringify(errorObject(versionOf(stdin), cni))}\n`);
    return 1;
  }
}

function start(): void {
  // exitCode rather than exit(): stdout to a pipe is written asynchronously and must drain first. No top-level await:
  // the single executable's main is a CommonJS script.
  void main().then((code) => {
    process.exitCode = code;
  });
}

// Loading the commands (zod and its schemas, above all) costs more than a pod's whole wiring. The single executable is
// built from a V8 start-up snapshot taken after this module graph has loaded and its parsers have run once
// (src/agent/plugin-executable.ts, warm-up.ts), so each run starts with them in the heap and goes straight to start();
// run as a plain script, the plugin loads it all first.
if (startupSnapshot.isBuildingSnapshot()) {
  warmUp();
  startupSnapshot.setDeserializeMainFunction(start);
} else start();
