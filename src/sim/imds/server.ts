import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditLog } from '../audit.ts';
import type { Faults } from '../faults.ts';
import type { Cloud } from '../model/cloud.ts';
import { parseTtl, TokenStore } from './tokens.ts';
import { lookup, type MetadataTree, metadataTree } from './tree.ts';

export interface ImdsServerOptions {
  readonly cloud: Cloud;
  readonly instanceId: string;
  readonly audit: AuditLog;
  readonly faults: Faults;
  /** How long after an EC2 change IMDS shows it. */
  readonly propagationMs: number;
}

const TOKEN_TTL_HEADER = 'x-aws-ec2-metadata-token-ttl-seconds';
const TOKEN_HEADER = 'x-aws-ec2-metadata-token';

/**
 * IMDSv2 for one instance. The tree is republished from the model after every change, `propagationMs` later, so the
 * lag between EC2 and IMDS that agents must tolerate on real nodes exists here too.
 */
export function createImdsServer(options: ImdsServerOptions): { server: Server; stop: () => void } {
  let published: MetadataTree = metadataTree(options.cloud, options.instanceId);
  const pending = new Set<NodeJS.Timeout>();
  const unsubscribe = options.cloud.onChange(() => {
    const next = metadataTree(options.cloud, options.instanceId);
    if (options.propagationMs <= 0) {
      published = next;
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(timer);
      published = next;
    }, options.propagationMs);
    pending.add(timer);
  });
  const tokens = new TokenStore();
  const server = createServer((request, response) => {
    answer(options, tokens, () => published, request, response).catch((error: unknown) => {
      response.writeHead(500).end(`simulator bug: ${String(error)}`);
    });
  });
  const stop = () => {
    unsubscribe();
    for (const timer of pending) clearTimeout(timer);
  };
  return { server, stop };
}

async function answer(
  options: ImdsServerOptions,
  tokens: TokenStore,
  tree: () => MetadataTree,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = performance.now();
  // The SDK's metadata client asks for `//latest/...`; IMDS accepts any number of leading slashes.
  // (new URL() would read `//latest` as a host name, so the path is cut by hand.)
  const path = (request.url ?? '/').split('?')[0]!.replace(/^\/+/, '/');
  if (options.faults.imdsDelayMs > 0) await sleep(options.faults.imdsDelayMs);
  const [status, body, headers] = route(tokens, tree(), request, path);
  response.writeHead(status, { 'content-type': 'text/plain', ...headers });
  response.end(body);
  options.audit.record({
    service: 'imds',
    action: `${request.method} ${path}`,
    params: {},
    outcome: status === 200 ? 'ok' : String(status),
    status,
    durationMs: performance.now() - started,
  });
}

type Reply = [number, string, Record<string, string>?];

function route(tokens: TokenStore, tree: MetadataTree, request: IncomingMessage, path: string): Reply {
  if (path === '/latest/api/token') {
    if (request.method !== 'PUT') return [405, 'Method Not Allowed'];
    return issueToken(tokens, request);
  }
  if (request.method !== 'GET' && request.method !== 'HEAD') return [405, 'Method Not Allowed'];
  if (!tokens.valid(request.headers[TOKEN_HEADER])) return [401, 'Unauthorized'];
  if (!path.startsWith('/latest/') && path !== '/latest') return [404, 'Not Found'];
  const key = path.slice('/latest'.length).replace(/^\/+|\/+$/g, '');
  const body = lookup(tree, key);
  return body === undefined ? [404, 'Not Found'] : [200, body];
}

/** Tokens are valid for the asked TTL (1 s to 6 h); a proxied request (X-Forwarded-For) never gets one. */
function issueToken(tokens: TokenStore, request: IncomingMessage): Reply {
  if (request.headers['x-forwarded-for'] !== undefined) return [403, 'Forbidden'];
  const ttl = parseTtl(request.headers[TOKEN_TTL_HEADER]);
  if (ttl === undefined) return [400, 'Bad Request'];
  return [200, tokens.issue(ttl), { [TOKEN_TTL_HEADER]: String(ttl) }];
}
