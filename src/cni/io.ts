/**
 * The plugin's stdin and stdout, as plain reads and writes of fds 0 and 1. process.stdin and process.stdout would build
 * a stream on every pod start (for a file, Node loads its fs streams and readline to make one) to move a few KiB that
 * the runtime writes whole and reads whole. Bounded: an endless or huge stdin must not exhaust the plugin.
 */
import { readSync, writeSync } from 'node:fs';
import { CniError, ErrorCode } from './spec.ts';

const STDIN = 0;
const STDOUT = 1;

/** A descriptor left non-blocking by whoever opened it has nothing yet: wait this long before asking again. */
const RETRY_MS = 1;
/** Made when first needed: a V8 start-up snapshot is built without SharedArrayBuffer (see main.ts). */
let pause: Int32Array | undefined;

function again(error: unknown): boolean {
  if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') return false;
  pause ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(pause, 0, 0, RETRY_MS);
  return true;
}

/** All of stdin, until its writer closes it. */
export function readInput(maxBytes: number, fd = STDIN): string {
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    // One byte more than is allowed, so that a configuration of exactly maxBytes is told from a larger one.
    const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes - size + 1));
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      if (again(error)) continue;
      throw new CniError(
        ErrorCode.ioFailure,
        `reading the network configuration from stdin: ${(error as Error).message}`,
      );
    }
    if (n === 0) break;
    size += n;
    if (size > maxBytes) {
      throw new CniError(ErrorCode.decodingFailure, `network configuration on stdin is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk.subarray(0, n));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `text` to stdout, whole. */
export function writeOutput(text: string, fd = STDOUT): void {
  let rest = Buffer.from(text, 'utf8');
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (error) {
      if (!again(error)) throw error;
    }
  }
}
