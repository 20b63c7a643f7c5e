import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 only (tests and the demo must never reach beyond the host); port 0 picks a free one. */
export async function listen(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Stops accepting and cuts keep-alive and streaming (watch) connections, so `close()` never hangs. */
export async function shutdown(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

/** Requests larger than a simulator accepts; each server answers it in its own service's error shape (4xx). */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
  readonly limit: number;
  constructor(limit: number) {
    super(`request body over ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * The request body as UTF-8, at most `limit` bytes. A larger body is refused with BodyTooLarge: at once when its
 * Content-Length says so, else after the rest is read and dropped, so the client still gets an answer rather than a
 * reset connection, and nothing past the limit is kept.
 */
export async function readBody(request: IncomingMessage, limit = 1 << 20): Promise<string> {
  if (Number(request.headers['content-length'] ?? 0) > limit) {
    request.resume();
    throw new BodyTooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes <= limit) chunks.push(chunk);
  }
  if (bytes > limit) throw new BodyTooLarge(limit);
  return Buffer.concat(chunks).toString('utf8');
}
