/**
 * The agent's log: one line per event on stderr, text for people or JSON (`--log-format json`) for collectors.
 * Debug lines are dropped unless asked for; nothing is buffered, so a kill -9 loses no line already written.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Log {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLog(write: (line: string) => void, format: 'text' | 'json', minimum: LogLevel = 'info'): Log {
  const emit = (level: LogLevel) => (message: string) => {
    if (RANK[level] < RANK[minimum]) return;
    const time = new Date().toISOString();
    write(
      format === 'json'
        ? `${JSON.stringify({ time, level, msg: message })}\n`
        : `${time} ${level.padEnd(5)} ${message}\n`,
    );
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}
