/**
 * The operator commands' way to the running agent: one GET on its introspection endpoint (TCP or a unix socket),
 * a reply parsed with the schema the agent's handler is typed by. Every failure is one sentence that says what to
 * check (is the agent running, is introspection on, is the address right), never a stack.
 */
import { request } from 'node:http';
import type * as z from 'zod';
import { type BindAddress, DEFAULT_INTROSPECTION_BIND, parseBindAddress } from '../agent/endpoint.ts';
import { ErrorReply } from '../agent/replies.ts';
import { describeIssues } from '../lib/issues.ts';
import type { CommandInput } from './command.ts';
import { UsageError } from './command.ts';

const TIMEOUT_MS = 10_000;
/** Larger than any reply the agent sends (its listener caps them at 8 MiB). */
const MAX_REPLY_BYTES = 9 * 1024 * 1024;

export const introspectionOption = { introspection: { type: 'string' } } as const;

export const introspectionHelp = `  --introspection ADDR  the agent's introspection endpoint, host:port or unix:<path>
                        (default: INTROSPECTION_BIND_ADDRESS, else ${DEFAULT_INTROSPECTION_BIND})`;

/** The endpoint a command talks to: the flag, else INTROSPECTION_BIND_ADDRESS, else the default. */
export function introspectionAddress(values: CommandInput['values'], env: NodeJS.ProcessEnv): BindAddress {
  const flag = values.introspection;
  const text = typeof flag === 'string' ? flag : (env.INTROSPECTION_BIND_ADDRESS ?? DEFAULT_INTROSPECTION_BIND);
  try {
    const bind = parseBindAddress(text, typeof flag === 'string' ? '--introspection' : 'INTROSPECTION_BIND_ADDRESS');
    // An agent bound to every interface is reached on loopback.
    return bind.kind === 'tcp' && (bind.host === '0.0.0.0' || bind.host === '::')
      ? { ...bind, host: '127.0.0.1' }
      : bind;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export class AgentUnreachable extends Error {
  override readonly name = 'AgentUnreachable';
}

function where(bind: BindAddress): string {
  return bind.kind === 'unix'
    ? `unix:${bind.path}`
    : `http://${bind.host.includes(':') ? `[${bind.host}]` : bind.host}:${bind.port}`;
}

function get(bind: BindAddress, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        method: 'GET',
        path,
        timeout: TIMEOUT_MS,
        ...(bind.kind === 'unix' ? { socketPath: bind.path } : { host: bind.host, port: bind.port }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_REPLY_BYTES) req.destroy(new Error(`reply over ${MAX_REPLY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * GETs `path` and parses the reply with `schema`. Resolves `{ok: false}` with the agent's own words for a 4xx/5xx
 * that carries them (an unknown pod); throws AgentUnreachable when there is no agent to ask.
 */
export async function askAgent<T extends z.ZodType>(
  bind: BindAddress,
  path: string,
  schema: T,
): Promise<{ ok: true; reply: z.infer<T> } | { ok: false; status: number; error: string }> {
  let answer: { status: number; body: string };
  try {
    answer = await get(bind, path);
  } catch (error) {
    throw new AgentUnreachable(
      `cannot reach the agent's introspection endpoint at ${where(bind)}: ${(error as Error).message} (is \`vpc-cni agent\` running on this node, with DISABLE_INTROSPECTION unset? pass --introspection ADDR if it listens elsewhere)`,
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    throw new AgentUnreachable(
      `${where(bind)}${path} answered ${answer.status} with something other than JSON: is that address the agent's introspection endpoint?`,
    );
  }
  if (answer.status !== 200) {
    const error = ErrorReply.safeParse(body);
    return { ok: false, status: answer.status, error: error.success ? error.data.error : `HTTP ${answer.status}` };
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new AgentUnreachable(
      `the agent's ${path} reply is not what this vpc-cni reads (a different version?): ${describeIssues(parsed.error, body).join('; ')}`,
    );
  }
  return { ok: true, reply: parsed.data };
}
