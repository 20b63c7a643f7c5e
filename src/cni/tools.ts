/**
 * The system tools the plugin runs. The runtime may start it with an empty environment (no PATH), so each tool is found
 * by absolute path from a fixed list. node:child_process with argument arrays, never a shell: execa would add its
 * import cost to every pod start, and the plugin needs nothing it offers beyond this.
 */
import type * as ChildProcesses from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { CniError, ErrorCode } from './spec.ts';

const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

function find(name: string): string {
  for (const dir of SYSTEM_DIRS) {
    const path = `${dir}/${name}`;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  throw new CniError(
    ErrorCode.ioFailure,
    `${name} not found in ${SYSTEM_DIRS.join(', ')} (the plugin needs iproute2 and util-linux)`,
  );
}

/** A tool the plugin can do without (conntrack-tools is not on every host image); undefined when absent. */
export function optionalTool(name: 'conntrack'): string | undefined {
  try {
    return find(name);
  } catch {
    return undefined;
  }
}

const found = new Map<string, string>();
export function tool(name: 'ip' | 'nsenter' | 'flock' | 'cat'): string {
  let path = found.get(name);
  if (path === undefined) {
    path = find(name);
    found.set(name, path);
  }
  return path;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Output larger than this is not iproute2 describing one pod; cut it instead of buffering without bound. */
const MAX_OUTPUT = 4 * 1024 * 1024;

/**
 * node:child_process, taken when first used: the plugin's module graph is loaded into a V8 start-up snapshot (see
 * main.ts), and child_process is not among the built-in modules Node supports loading while a snapshot is built.
 */
export function childProcesses(): typeof ChildProcesses {
  return process.getBuiltinModule('node:child_process');
}

/**
 * A tool given its input a piece at a time: `ip -batch -` runs each line as it arrives, so one process can be started
 * before all of its lines are known.
 */
export interface FedProcess {
  write(text: string): void;
  end(text?: string): void;
  /** True once the tool has written to stdout, false when it exited without a word there. */
  readonly spoke: Promise<boolean>;
  readonly exited: Promise<RunResult>;
}

export function start(file: string, args: readonly string[], withInput = true): FedProcess {
  const child = childProcesses().spawn(file, args, {
    env: {},
    stdio: [withInput ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const spoke = Promise.withResolvers<boolean>();
  const exited = new Promise<RunResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_OUTPUT) into.push(chunk);
    };
    child.stdout?.on('data', collect(out));
    child.stdout?.once('data', () => spoke.resolve(true));
    child.stderr?.on('data', collect(err));
    child.on('error', (e) => {
      spoke.resolve(false);
      reject(new CniError(ErrorCode.ioFailure, `cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code) => {
      spoke.resolve(false);
      resolve({
        code: code ?? 1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
  // A tool that exits before reading all of its input (ip on a failed batch line) makes our write fail with EPIPE;
  // its exit status already says what went wrong, and an unhandled 'error' here would crash the plugin mid-ADD.
  child.stdin?.on('error', () => undefined);
  return {
    write: (text) => void child.stdin?.write(text),
    end: (text) => void child.stdin?.end(text),
    spoke: spoke.promise,
    exited,
  };
}

export function run(file: string, args: readonly string[], input?: string): Promise<RunResult> {
  const child = start(file, args, input !== undefined);
  child.end(input);
  return child.exited;
}
