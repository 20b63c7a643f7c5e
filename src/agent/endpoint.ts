/**
 * The agent's small HTTP listeners (metrics and health, introspection): GET only, one answer per path, a 5 s budget
 * per request as the reference's servers have, bodies capped so a scrape or a `vpc-cni status` can never make the
 * agent build an unbounded reply. Addresses are `host:port` (port 0 = any free one, for tests) or `unix:<path>`, the
 * forms INTROSPECTION_BIND_ADDRESS takes.
 */
import { lstat, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The reference's ports: metrics and health on every interface, introspection on loopback only. */
export const DEFAULT_METRICS_BIND = '0.0.0.0:61678';
export const DEFAULT_INTROSPECTION_BIND = '127.0.0.1:61679';
/** Where tests (and a second agent on one host) bind the metrics listener instead; not an aws-node setting. */
export const METRICS_BIND_VARIABLE = 'VPC_CNI_METRICS_BIND_ADDRESS';

export type BindAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** PURE: `host:port`, `[v6]:port` or `unix:<path>`; an empty host means every interface (the reference's `:61678`). */
export function parseBindAddress(text: string, what: string): BindAddress {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (!path.startsWith('/')) throw new Error(`${what}=${text}: a unix socket path must be absolute`);
    return { kind: 'unix', path };
  }
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65_535)
    throw new Error(`${what}=${text}: expected host:port (port 0-65535) or unix:<path>`);
  return { kind: 'tcp', host: match[1] ?? (match[2] === '' ? '0.0.0.0' : match[2]!), port };
}

/** PURE: whether only this host can reach the address (a unix socket, 127.0.0.0/8, ::1, localhost). */
export function isLoopback(bind: BindAddress): boolean {
  if (bind.kind === 'unix') return true;
  if (bind.host === 'localhost') return true;
  if (!ipaddr.isValid(bind.host)) return false;
  const address = ipaddr.process(bind.host);
  return address.range() === 'loopback';
}

export function formatBindAddress(bind: BindAddress): string {
  if (bind.kind === 'unix') return `unix:${bind.path}`;
  return bind.host.includes(':') ? `[${bind.host}]:${bind.port}` : `${bind.host}:${bind.port}`;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly type?: string;
}

export type Handler = (path: string, query: URLSearchParams) => Reply | Promise<Reply>;

/** A JSON reply; the body is cut at `MAX_BODY_BYTES` by the listener, so callers bound their lists first. */
export function json(value: unknown, status = 200): Reply {
  return { status, body: `${JSON.stringify(value, null, 1)}\n`, type: 'application/json' };
}

export function text(body: string, status = 200): Reply {
  return { status, body: body.endsWith('\n') ? body : `${body}\n`, type: 'text/plain; charset=utf-8' };
}

/** A reply larger than this is refused (500) rather than sent: every list an endpoint serves is capped below it. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 5_000;
const MAX_URL_LENGTH = 2_048;

export interface Listener {
  /** Where it listens (the port filled in when 0 was asked for). */
  readonly address: BindAddress;
  close(): Promise<void>;
}

/** Serves `handle` on `bind` until closed; a handler that throws answers 500 with its message. */
export async function listen(bind: BindAddress, handle: Handler): Promise<Listener> {
  const server = createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (request, response) => {
    void answer(request, response, handle);
  });
  server.headersTimeout = REQUEST_TIMEOUT_MS;
  // A socket left by an agent killed -9 would refuse the bind for ever; only a socket is removed, never a file.
  if (bind.kind === 'unix' && (await lstat(bind.path).catch(() => undefined))?.isSocket()) await rm(bind.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (bind.kind === 'unix') server.listen(bind.path, done);
    else server.listen(bind.port, bind.host, done);
  });
  const info = server.address();
  const address: BindAddress =
    bind.kind === 'unix' || info === null || typeof info === 'string'
      ? bind
      : { kind: 'tcp', host: bind.host, port: (info as AddressInfo).port };
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function answer(request: IncomingMessage, response: ServerResponse, handle: Handler): Promise<void> {
  let reply: Reply;
  if (request.method !== 'GET' && request.method !== 'HEAD') reply = text('only GET is served', 405);
  else if ((request.url ?? '').length > MAX_URL_LENGTH) reply = text('request URL too long', 414);
  else {
    const url = new URL(request.url ?? '/', 'http://agent');
    try {
      reply = await handle(url.pathname, url.searchParams);
    } catch (error) {
      reply = text(`internal error: ${(error as Error).message}`, 500);
    }
  }
  const body = Buffer.from(reply.body);
  if (body.length > MAX_BODY_BYTES) {
    reply = text(`reply of ${body.length} bytes is over the ${MAX_BODY_BYTES}-byte limit`, 500);
  }
  const bytes = body.length > MAX_BODY_BYTES ? Buffer.from(reply.body) : body;
  response.writeHead(reply.status, {
    'content-type': reply.type ?? 'text/plain; charset=utf-8',
    'content-length': bytes.length,
    'cache-control': 'no-store',
  });
  response.end(request.method === 'HEAD' ? undefined : bytes);
}

/** The reference retries a listener that cannot bind, 1 s doubling to 1 min, instead of failing the agent. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export interface KeptListener {
  stop(): Promise<void>;
}

/**
 * Listens on `bind`, and when that fails (the port taken by another process, a socket directory missing) keeps
 * trying in the background: a probe or a scrape that cannot be served must not keep the node from serving pods.
 * The first attempt is awaited, so a free address is listening when this returns.
 */
export async function keepListening(
  bind: BindAddress,
  handle: Handler,
  events: {
    readonly onListening?: (address: BindAddress) => void;
    readonly onError?: (message: string) => void;
  },
): Promise<KeptListener> {
  let listener: Listener | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async (delayMs: number): Promise<void> => {
    try {
      listener = await listen(bind, handle);
      if (stopped) await listener.close();
      else events.onListening?.(listener.address);
    } catch (error) {
      events.onError?.(
        `cannot listen on ${formatBindAddress(bind)}: ${(error as Error).message}; retrying in ${delayMs / 1000} s`,
      );
      if (!stopped) {
        timer = setTimeout(() => void attempt(Math.min(delayMs * 2, RETRY_MAX_MS)), delayMs);
      }
    }
  };
  await attempt(RETRY_FIRST_MS);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await listener?.close();
    },
  };
}
