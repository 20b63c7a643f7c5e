/**
 * The agent's side: a Unix socket (mode 0600) that parses each request with the shared schema and answers one line.
 * Each connection has its own deadline and size bound, so a slow, oversized or malformed client is answered and closed
 * without affecting the others.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { decode, encode, LineSplitter } from './codec.ts';
import { deadline } from './deadline.ts';
import { PROTOCOL_VERSION, Request, type Response, type WireError } from './protocol.ts';

type Answer = Response extends infer R ? (R extends Response ? Omit<R, 'v' | 'id'> : never) : never;
export type Handler = (req: Request) => Promise<Answer>;

export interface IpcServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function serve(path: string, handler: Handler, opts: { connectionTimeoutMs?: number } = {}) {
  const timeoutMs = opts.connectionTimeoutMs ?? 5_000;
  await rm(path, { force: true });
  const server: Server = createServer((sock) => onConnection(sock, handler, timeoutMs));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  return {
    path,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  } satisfies IpcServer;
}

function reply(sock: Socket, id: number, error: WireError): void {
  sock.end(encode({ v: PROTOCOL_VERSION, id, ok: false, error }));
}

function onConnection(sock: Socket, handler: Handler, timeoutMs: number): void {
  const splitter = new LineSplitter();
  let handled = false;
  const timer = deadline(timeoutMs, () => {
    if (!handled) reply(sock, 0, { kind: 'TIMEOUT', message: `no complete request within ${timeoutMs} ms` });
    sock.destroy();
  });
  sock.on('error', () => sock.destroy());
  sock.on('close', () => timer.cancel());
  sock.on('data', (chunk: Buffer) => {
    if (handled) return;
    const lines = splitter.push(chunk);
    if (lines === 'too-large') {
      handled = true;
      return reply(sock, 0, { kind: 'TOO_LARGE', message: 'request exceeds the message size limit' });
    }
    const line = lines[0];
    if (line === undefined) return;
    handled = true;
    // The deadline is for sending a request (slow loris); answering is bounded by the handler, since an ADD may wait
    // for an ENI to attach, and the client's own timeout ends a wait it no longer wants.
    timer.cancel();
    const decoded = decode(line, Request);
    if (!decoded.ok) return reply(sock, decoded.id, decoded.error);
    const req = decoded.value;
    handler(req).then(
      (answer) => {
        if (!sock.destroyed) sock.end(encode({ ...answer, v: PROTOCOL_VERSION, id: req.id }));
      },
      (e: unknown) => {
        if (!sock.destroyed) reply(sock, req.id, { kind: 'INTERNAL', message: `agent failed ${req.op}: ${String(e)}` });
      },
    );
  });
}
