/**
 * The plugin's log, where the reference's aws-cni writes it (`pluginLogFile`, default
 * /var/log/aws-routed-eni/plugin.log, or stderr) at `pluginLogLevel`: one JSON line per command with what it was
 * asked, what it answered and how long it took, so an operator can follow a pod's ADD from the runtime to the agent.
 * Logging never fails a command: a log that cannot be written is dropped. The runtime runs us as root, so the file is
 * opened without following a symlink someone planted, and it is kept bounded by rotating to one `.1` file.
 */
import { closeSync, constants, mkdirSync, openSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type PluginLogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<PluginLogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Past this the file is rotated: a node runs a few ADDs a second at most, so this is weeks of lines. */
export const MAX_LOG_BYTES = 16 * 1024 * 1024;

/** The reference's levels, case-insensitive; fatal logs as error, and an unknown level is debug as in the reference. */
export function logLevelOf(value: string | undefined): PluginLogLevel {
  const v = (value ?? 'debug').toLowerCase();
  if (v === 'fatal') return 'error';
  return v === 'info' || v === 'warn' || v === 'error' ? v : 'debug';
}

export interface LogEntry {
  readonly level: PluginLogLevel;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/**
 * Synchronous: a line a command is one write, and the plugin waits for it before answering anyway; libuv's thread pool
 * would add a round trip per step to every pod's ADD.
 */
export function writePluginLog(
  destination: string | undefined,
  minimum: PluginLogLevel,
  entry: LogEntry,
  now: Date = new Date(),
): void {
  if (RANK[entry.level] < RANK[minimum]) return;
  const line = `${JSON.stringify({ time: now.toISOString(), ...entry })}\n`;
  try {
    if (destination === undefined || destination === '' || destination === 'stderr') {
      process.stderr.write(line);
      return;
    }
    if ((statSync(destination, { throwIfNoEntry: false })?.size ?? 0) > MAX_LOG_BYTES) {
      renameSync(destination, `${destination}.1`);
    }
    const flags = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;
    let fd: number;
    try {
      fd = openSync(destination, flags, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      // The first line on this node: /var/log/aws-routed-eni does not exist yet.
      mkdirSync(dirname(destination), { recursive: true, mode: 0o755 });
      fd = openSync(destination, flags, 0o600);
    }
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
  } catch {
    // A full disk or a read-only /var/log must not cost a pod its network.
  }
}
