/** The plugin's side: one request per connection, bounded by a timeout. */
import { connect } from 'node:net';
import { decode, encode, LineSplitter } from './codec.ts';
import { deadline } from './deadline.ts';
import { PROTOCOL_VERSION, type Request, Response, type WireError } from './protocol.ts';

type Body = Request extends infer R ? (R extends Request ? Omit<R, 'v' | 'id'> : never) : never;

/** A failure reaching or understanding the agent; `wire` is set when the agent itself answered with an error. */
export class IpcError extends Error {
  readonly kind: WireError['kind'] | 'UNREACHABLE';
  readonly wire: WireError | undefined;
  constructor(message: string, kind: WireError['kind'] | 'UNREACHABLE', wire?: WireError) {
    super(message);
    this.name = 'IpcError';
    this.kind = kind;
    this.wire = wire;
  }
}

/** Moments of a call, for a caller with other work to start meanwhile. */
export interface CallHooks {
  /** The request has been handed to the kernel. */
  readonly sent?: () => void;
  /** The first bytes of the answer have arrived; this runs before they are read, whatever they say. */
  readonly answering?: () => void;
}

export async function call(
  socketPath: string,
  body: Body,
  timeoutMs = 10_000,
  hooks: CallHooks = {},
): Promise<Response> {
  const id = Math.floor(Math.random() * 2 ** 31);
  const payload = encode({ ...body, v: PROTOCOL_VERSION, id });
  return new Promise<Response>((resolve, reject) => {
    const sock = connect(socketPath);
    const splitter = new LineSplitter();
    const fail = (e: IpcError) => {
      sock.destroy();
      reject(e);
    };
    const timer = deadline(timeoutMs, () =>
      fail(new IpcError(`agent at ${socketPath} did not answer ${body.op} within ${timeoutMs} ms`, 'TIMEOUT')),
    );
    sock.on('connect', () => sock.write(payload, () => hooks.sent?.()));
    sock.once('data', () => hooks.answering?.());
    sock.on('error', (e) => {
      timer.cancel();
      fail(new IpcError(`cannot reach the agent at ${socketPath}: ${e.message}`, 'UNREACHABLE'));
    });
    sock.on('close', () => {
      timer.cancel();
      reject(new IpcError(`agent at ${socketPath} closed the connection without answering ${body.op}`, 'UNREACHABLE'));
    });
    sock.on('data', (chunk: Buffer) => {
      const lines = splitter.push(chunk);
      if (lines === 'too-large') {
        timer.cancel();
        return fail(new IpcError(`agent at ${socketPath} sent an oversized reply`, 'TOO_LARGE'));
      }
      const line = lines[0];
      if (line === undefined) return;
      timer.cancel();
      const decoded = decode(line, Response);
      sock.end();
      if (!decoded.ok) return fail(new IpcError(`agent reply refused: ${decoded.error.message}`, decoded.error.kind));
      const res = decoded.value;
      // Id 0 is the agent refusing a request it could not read far enough to know its id (too slow, too large).
      if (!res.ok && res.id === 0)
        return fail(new IpcError(`agent refused the request: ${res.error.message}`, res.error.kind, res.error));
      if (res.id !== id) return fail(new IpcError(`agent answered request ${res.id}, expected ${id}`, 'MALFORMED'));
      if (!res.ok) return fail(new IpcError(res.error.message, res.error.kind, res.error));
      if (res.op !== body.op) return fail(new IpcError(`agent answered ${res.op} to ${body.op}`, 'MALFORMED'));
      resolve(res);
    });
  });
}
