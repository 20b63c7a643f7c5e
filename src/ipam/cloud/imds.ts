/**
 * IMDSv2 client (plain fetch): a session token from `PUT /latest/api/token`, then GETs carrying it. Each request has a
 * timeout; network errors, timeouts, 5xx and 429 are retried a bounded number of times with exponential backoff; a 401
 * renews the token once. When IMDS cannot be reached the error says where and why:
 * `IMDS unreachable at http://169.254.169.254: ...`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type NodeFacts, type NodeFactsInput, parseNodeFacts, primaryEni } from '../../compiler/facts.ts';
import type { EniObservation } from './ec2.ts';

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';
/** The standard AWS SDK variable for the IMDS endpoint. */
export const IMDS_ENDPOINT_VARIABLE = 'AWS_EC2_METADATA_SERVICE_ENDPOINT';

const TOKEN_TTL_SECONDS = 21_600;
/** Renew this long before the token expires, so a request never carries a token that dies in flight. */
const TOKEN_RENEW_MARGIN_MS = 60_000;

export interface ImdsOptions {
  /** Base URL, e.g. `http://169.254.169.254` (default) or a simulator's `http://127.0.0.1:PORT`. */
  readonly endpoint?: string;
  /** Per-request timeout (default 1000 ms; IMDS answers in microseconds on a healthy node). */
  readonly timeoutMs?: number;
  /** Attempts per request, including the first (default 4). */
  readonly attempts?: number;
  /** First backoff delay, doubled per retry (default 100 ms). */
  readonly backoffMs?: number;
}

/** `unreachable`: no answer after every attempt; `not_found`: 404; `http`: any other refusal. */
export type ImdsErrorKind = 'unreachable' | 'not_found' | 'http';

export class ImdsError extends Error {
  override readonly name = 'ImdsError';
  readonly kind: ImdsErrorKind;
  readonly url: string;
  constructor(kind: ImdsErrorKind, url: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
    this.url = url;
  }
}

/** The endpoint from an environment (`AWS_EC2_METADATA_SERVICE_ENDPOINT`), else the link-local default. */
export function imdsEndpoint(env: Readonly<Record<string, string | undefined>>): string {
  const value = env[IMDS_ENDPOINT_VARIABLE]?.trim();
  return value === undefined || value === '' ? DEFAULT_IMDS_ENDPOINT : value;
}

function retryable(status: number): boolean {
  return status >= 500 || status === 429;
}

export class ImdsClient {
  readonly endpoint: string;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #backoffMs: number;
  /** Shared by concurrent requests, so a burst of GETs asks for one token, not one each. */
  #token: Promise<{ value: string; expiresAt: number }> | undefined;

  constructor(options: ImdsOptions = {}) {
    this.endpoint = (options.endpoint ?? DEFAULT_IMDS_ENDPOINT).replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 1000;
    this.#attempts = options.attempts ?? 4;
    this.#backoffMs = options.backoffMs ?? 100;
  }

  /** A metadata value (`meta-data/<path>`), trimmed; throws ImdsError (kind `not_found` for a missing key). */
  async get(path: string): Promise<string> {
    const url = `${this.endpoint}/latest/meta-data/${path}`;
    let renewed = false;
    for (;;) {
      const token = await this.#sessionToken();
      const response = await this.#request(url, { method: 'GET', headers: { 'x-aws-ec2-metadata-token': token } });
      if (response.status === 401 && !renewed) {
        // Tokens die with IMDS restarts and clock jumps; one renewal, not a loop.
        this.#token = undefined;
        renewed = true;
        continue;
      }
      if (response.status === 404) throw new ImdsError('not_found', url, `IMDS has no ${path} (404 from ${url})`);
      if (!response.ok) throw new ImdsError('http', url, `IMDS refused GET ${url}: HTTP ${response.status}`);
      return response.body.trim();
    }
  }

  /** Like `get`, but a missing key (404) is undefined: IMDS omits keys with no value (`ipv6s` on a v4-only ENI). */
  async getOptional(path: string): Promise<string | undefined> {
    try {
      return await this.get(path);
    } catch (error) {
      if (error instanceof ImdsError && error.kind === 'not_found') return undefined;
      throw error;
    }
  }

  async #sessionToken(): Promise<string> {
    // Assigned synchronously, before any await, so concurrent callers share one PUT.
    this.#token ??= this.#newToken();
    const pending = this.#token;
    try {
      const token = await pending;
      if (Date.now() < token.expiresAt) return token.value;
    } catch (error) {
      if (this.#token === pending) this.#token = undefined; // the next call asks again
      throw error;
    }
    if (this.#token === pending) this.#token = undefined;
    return this.#sessionToken();
  }

  async #newToken(): Promise<{ value: string; expiresAt: number }> {
    const url = `${this.endpoint}/latest/api/token`;
    const response = await this.#request(url, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
    });
    if (!response.ok) {
      throw new ImdsError('http', url, `IMDS refused a session token at ${url}: HTTP ${response.status}`);
    }
    return { value: response.body, expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000 - TOKEN_RENEW_MARGIN_MS };
  }

  /** One request with timeout and bounded retries; returns the final answer or throws `unreachable`. */
  async #request(url: string, init: RequestInit): Promise<{ status: number; ok: boolean; body: string }> {
    let lastProblem = '';
    let lastCause: unknown;
    for (let attempt = 1; attempt <= this.#attempts; attempt++) {
      if (attempt > 1) await sleep(this.#backoffMs * 2 ** (attempt - 2));
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.#timeoutMs) });
        const body = await response.text();
        if (!retryable(response.status)) return { status: response.status, ok: response.ok, body };
        lastProblem = `HTTP ${response.status}`;
        lastCause = undefined;
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        lastProblem =
          (error as Error).name === 'TimeoutError'
            ? `no answer within ${this.#timeoutMs} ms`
            : (cause?.code ?? (error as Error).message);
        lastCause = error;
      }
    }
    throw new ImdsError(
      'unreachable',
      url,
      `IMDS unreachable at ${this.endpoint}: ${init.method} ${url} failed ${this.#attempts} times (last: ${lastProblem}). ` +
        `Is this an EC2 instance with the metadata service enabled and a hop limit ≥ 2 for containers? ` +
        `Set ${IMDS_ENDPOINT_VARIABLE} to use another endpoint, or pass --node FILE.`,
      lastCause,
    );
  }
}

/** The ENI keys read under `network/interfaces/macs/<mac>/`; optional ones are absent when empty. */
const ENI_KEYS = {
  required: [
    'device-number',
    'interface-id',
    'subnet-id',
    'subnet-ipv4-cidr-block',
    'vpc-ipv4-cidr-blocks',
    'local-ipv4s',
  ],
  optional: ['network-card', 'ipv4-prefix', 'ipv6s', 'ipv6-prefix', 'subnet-ipv6-cidr-blocks'],
} as const;

/** Raw IMDS answers, as text, keyed by their path below `meta-data/`. */
export type ImdsReplies = Readonly<Record<string, string | undefined>>;

function lines(text: string | undefined): string[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

function macsOf(replies: ImdsReplies): string[] {
  return lines(replies['network/interfaces/macs/']).map((m) => m.replace(/\/$/, ''));
}

function integer(text: string | undefined, fallback: number): number {
  return text === undefined ? fallback : Number(text);
}

/**
 * Pure: the node facts carried by IMDS replies (`mac`, `local-ipv4`, …, `network/interfaces/macs/<mac>/<key>`).
 * Validated by the NodeFacts schema, so a malformed reply fails with the field and value named.
 */
export function nodeFactsFromImds(replies: ImdsReplies, source: string): NodeFacts {
  const macs = macsOf(replies);
  const eni = (mac: string, key: string) => replies[`network/interfaces/macs/${mac}/${key}`];
  const facts: NodeFactsInput = {
    version: 1,
    instanceId: replies['instance-id'] ?? '',
    instanceType: replies['instance-type'] ?? '',
    availabilityZone: replies['placement/availability-zone'] ?? '',
    region: replies['placement/region'] ?? '',
    primaryMac: replies.mac ?? '',
    localIpv4: replies['local-ipv4'] ?? '',
    enis: macs.map((mac) => ({
      mac,
      deviceNumber: integer(eni(mac, 'device-number'), Number.NaN),
      networkCard: integer(eni(mac, 'network-card'), 0),
      interfaceId: eni(mac, 'interface-id') ?? '',
      subnetId: eni(mac, 'subnet-id') ?? '',
      subnetCidr: eni(mac, 'subnet-ipv4-cidr-block') ?? '',
      subnetIpv6Cidrs: lines(eni(mac, 'subnet-ipv6-cidr-blocks')),
      vpcCidrs: lines(eni(mac, 'vpc-ipv4-cidr-blocks')),
      localIpv4s: lines(eni(mac, 'local-ipv4s')),
      ipv4Prefixes: lines(eni(mac, 'ipv4-prefix')),
      ipv6s: lines(eni(mac, 'ipv6s')),
      ipv6Prefixes: lines(eni(mac, 'ipv6-prefix')),
    })),
  };
  return parseNodeFacts(facts, source);
}

/**
 * Reads every fact the host plan needs from IMDS. Interface names are not known to IMDS: resolve them by MAC
 * (`withInterfaceNames` in src/node/host-facts.ts) before compiling a plan.
 */
export async function readNodeFacts(client: ImdsClient | string): Promise<NodeFacts> {
  const imds = typeof client === 'string' ? new ImdsClient({ endpoint: client }) : client;
  const rootKeys = [
    'mac',
    'local-ipv4',
    'instance-id',
    'instance-type',
    'placement/availability-zone',
    'placement/region',
  ];
  const replies: Record<string, string | undefined> = {};
  await Promise.all([
    ...rootKeys.map(async (key) => {
      replies[key] = await imds.get(key);
    }),
    (async () => {
      replies['network/interfaces/macs/'] = await imds.get('network/interfaces/macs/');
    })(),
  ]);
  const macs = macsOf(replies);
  await Promise.all(
    macs.flatMap((mac) => [
      ...ENI_KEYS.required.map(async (key) => {
        replies[`network/interfaces/macs/${mac}/${key}`] = await imds.get(`network/interfaces/macs/${mac}/${key}`);
      }),
      ...ENI_KEYS.optional.map(async (key) => {
        replies[`network/interfaces/macs/${mac}/${key}`] = await imds.getOptional(
          `network/interfaces/macs/${mac}/${key}`,
        );
      }),
    ]),
  );
  return nodeFactsFromImds(replies, `IMDS at ${imds.endpoint}`);
}

/** What the IPAM engine must know of its node before it can talk to EC2, all of it learnt from IMDS at start. */
export interface IpamNode {
  readonly facts: NodeFacts;
  readonly vpcId: string;
  readonly primaryEniId: string;
  readonly primarySubnetId: string;
}

/** The node as the agent learns it: every fact from IMDS, plus the VPC of the primary ENI (`vpc-id`). */
export async function readIpamNode(client: ImdsClient): Promise<IpamNode> {
  const facts = await readNodeFacts(client);
  const primary = primaryEni(facts);
  const vpcId = await client.get(`network/interfaces/macs/${facts.primaryMac}/vpc-id`);
  if (!/^vpc-[0-9a-f]{1,32}$/.test(vpcId)) {
    throw new ImdsError(
      'http',
      `${client.endpoint}/latest/meta-data/network/interfaces/macs/${facts.primaryMac}/vpc-id`,
      `IMDS vpc-id ${JSON.stringify(vpcId.slice(0, 40))} is not a VPC id such as vpc-0abc123`,
    );
  }
  return { facts, vpcId, primaryEniId: primary.interfaceId, primarySubnetId: primary.subnetId };
}

/**
 * The node's ENIs as IMDS lists them, in EC2's shape, for a restart that serves existing pods before EC2 answers
 * (`IpamEngine.startLocal`). IMDS lists an ENI's primary address first in `local-ipv4s`; what IMDS does not know (the
 * attachment id, security groups, tags) stays empty until the first EC2 reconcile fills it in.
 */
export function observationsFromImds(facts: NodeFacts): EniObservation[] {
  return facts.enis
    .map((e) => ({
      id: e.interfaceId,
      deviceNumber: e.deviceNumber,
      attachmentId: '',
      mac: e.mac,
      subnetId: e.subnetId,
      primaryIp: e.localIpv4s[0] ?? '',
      secondaryIps: e.localIpv4s.slice(1),
      prefixes: e.ipv4Prefixes,
      securityGroups: [],
      tags: {},
    }))
    .sort((a, b) => a.deviceNumber - b.deviceNumber);
}
