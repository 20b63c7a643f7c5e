/** Bounded stdin: the runtime's configuration is a few KiB, and an endless or huge stream must not exhaust the plugin. */
import type { Readable } from 'node:stream';
import { CniError, ErrorCode } from './spec.ts';

export async function readInput(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxBytes) {
      stream.destroy();
      throw new CniError(ErrorCode.decodingFailure, `network configuration on stdin is larger than ${maxBytes} bytes`);
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
