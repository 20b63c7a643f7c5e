/**
 * The agent's log (pino): one line per event, JSON for collectors or text for people. Writes are synchronous, so a
 * kill -9 loses no line already logged; the level can change while the agent runs (AWS_VPC_K8S_CNI_LOGLEVEL is a
 * live-safe setting). The destination is the reference's AWS_VPC_K8S_CNI_LOG_FILE: `stdout`, `stderr` or a file.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino from 'pino';

/** The reference's levels (AWS_VPC_K8S_CNI_LOGLEVEL, case-insensitive there, lower-case here). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** Structured context a line carries besides its message (JSON fields; `key=value` in text). */
export type LogFields = Readonly<Record<string, unknown>>;

export interface Log {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Lines below `level` are dropped from now on. */
  setLevel(level: LogLevel): void;
  readonly level: LogLevel;
}

export type LogFormat = 'text' | 'json';

/** What pino writes, parsed back for the text rendering. */
interface Line {
  readonly time: string;
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** PURE: one JSON line as people read it: `TIME LEVEL message key=value…`. */
export function textLine(json: string): string {
  const { time, level, msg, ...fields } = JSON.parse(json) as Line;
  const extra = Object.entries(fields).map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${time} ${level.padEnd(5)} ${msg}${extra.join('')}\n`;
}

/** Logs through `write`, one complete line per call. */
export function createLog(write: (line: string) => void, format: LogFormat, minimum: LogLevel = 'info'): Log {
  const logger = pino(
    {
      level: minimum,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: format === 'json' ? write : (json: string) => write(textLine(json)) },
  );
  const at =
    (level: Exclude<LogLevel, 'fatal'>) =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) logger[level](message);
      else logger[level](fields, message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    setLevel(level) {
      logger.level = level;
    },
    get level() {
      return logger.level as LogLevel;
    },
  };
}

/**
 * Where AWS_VPC_K8S_CNI_LOG_FILE sends the log: `stdout`, `stderr` (the process's streams, synchronous for files and
 * pipes on Linux), or a file appended to, its directory created, each line one synchronous write.
 */
export function logDestination(
  file: string,
  streams: { readonly stdout: (text: string) => void; readonly stderr: (text: string) => void },
): (line: string) => void {
  if (file === 'stdout') return streams.stdout;
  if (file === 'stderr') return streams.stderr;
  mkdirSync(dirname(file), { recursive: true });
  const destination = pino.destination({ dest: file, sync: true, append: true });
  return (line) => destination.write(line);
}
