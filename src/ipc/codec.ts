/**
 * Newline-delimited JSON framing: one message per line, at most MAX_MESSAGE_BYTES each. Decoding never throws: it
 * returns the parsed message or a WireError, so a bad peer is answered, not crashed on.
 */
import type * as z from 'zod';
import { describeIssues, plainMessages } from '../lib/issues.ts';
import { MAX_MESSAGE_BYTES, PROTOCOL_VERSION, type WireError } from './protocol.ts';

export function encode(message: unknown): Buffer {
  const line = Buffer.from(`${JSON.stringify(message)}\n`, 'utf8');
  if (line.length > MAX_MESSAGE_BYTES) {
    throw new Error(`ipc message of ${line.length} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  return line;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: WireError; id: number };

/** Parse one line (without its newline) against a schema; version is checked before the shape. */
export function decode<T>(line: string, schema: z.ZodType<T>): Decoded<T> {
  if (Buffer.byteLength(line, 'utf8') >= MAX_MESSAGE_BYTES) {
    return { ok: false, id: 0, error: { kind: 'TOO_LARGE', message: `message exceeds ${MAX_MESSAGE_BYTES} bytes` } };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch (e) {
    return { ok: false, id: 0, error: { kind: 'MALFORMED', message: `not JSON: ${(e as Error).message}` } };
  }
  const head = (typeof raw === 'object' && raw !== null ? raw : {}) as { v?: unknown; id?: unknown };
  const id = typeof head.id === 'number' && Number.isSafeInteger(head.id) && head.id >= 0 ? head.id : 0;
  if (head.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      id,
      error: {
        kind: 'VERSION_MISMATCH',
        message: `peer speaks ipc protocol version ${JSON.stringify(head.v)}, this side speaks ${PROTOCOL_VERSION}: install the plugin and agent from the same release`,
        serverVersion: PROTOCOL_VERSION,
      },
    };
  }
  const parsed = schema.safeParse(raw, { error: plainMessages });
  if (!parsed.success) {
    const issues = describeIssues(parsed.error, raw);
    return { ok: false, id, error: { kind: 'MALFORMED', message: `invalid message: ${issues.join('; ')}` } };
  }
  return { ok: true, value: parsed.data };
}

/**
 * Splits a byte stream into lines, refusing a line that grows past the limit before its newline arrives (so a peer
 * cannot make us buffer without bound).
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Returns complete lines, or 'too-large' once the current line exceeds the limit. */
  push(chunk: Buffer): string[] | 'too-large' {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl);
      if (this.pendingBytes + part.length >= MAX_MESSAGE_BYTES) return 'too-large';
      this.pending.push(part);
      lines.push(Buffer.concat(this.pending).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    this.pendingBytes += rest.length;
    if (this.pendingBytes >= MAX_MESSAGE_BYTES) return 'too-large';
    if (rest.length) this.pending.push(rest);
    return lines;
  }
}
