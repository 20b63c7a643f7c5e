/**
 * The one door to EC2: every call goes through the token bucket, is retried with jittered backoff only when its
 * CloudError kind is retryable, and is counted (total, mutating, throttled) for metrics, `simulate` and the bench.
 * The SDK's own retries are off so that pacing and backoff are ours and testable.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { BucketSpec } from '../../lib/token-bucket.ts';
import { type CloudError, classify, retryable } from './errors.ts';
import { type BackoffSpec, backoffMs, type Clock, Pacer } from './rate.ts';

export interface Ec2Options {
  /** `http://127.0.0.1:PORT` for the simulator; undefined = the SDK's default endpoint resolution. */
  readonly endpoint?: string;
  readonly region: string;
  readonly credentials?: EC2ClientConfig['credentials'];
  readonly bucket: BucketSpec;
  readonly backoff: BackoffSpec;
  /** Attempts per call for retryable failures (throttling, 5xx, transport). */
  readonly maxAttempts: number;
  readonly clock: Clock;
  readonly random?: () => number;
  /**
   * Abandon an attempt after this long (default 10 s): an EC2 that never answers (a black-holed route) must fail the
   * call, so the loop that made it backs off and an ADD waiting on the pool is not held past its own bound.
   */
  readonly requestTimeoutMs?: number;
  /** Told of every attempt as it ends (the agent's metrics: EC2 latency and errors); must not throw. */
  readonly onCall?: (call: Ec2Call) => void;
}

/** One attempt of one EC2 action, as it ended: its latency, and the EC2 error code when it failed. */
export interface Ec2Call {
  readonly action: string;
  readonly ms: number;
  readonly error?: string;
}

export interface CallCounts {
  total: number;
  mutating: number;
  throttled: number;
  failed: number;
  readonly byAction: Record<string, number>;
}

/** A command as the SDK models it; the action name comes from the class (`AssignPrivateIpAddressesCommand`). */
interface Command<Out> {
  readonly input: object;
  // biome-ignore lint/suspicious/noExplicitAny: only the handler's output type matters here
  resolveMiddleware(...args: any[]): (args: any) => Promise<{ output: Out }>;
}

function actionOf(command: object): string {
  return command.constructor.name.replace(/Command$/, '');
}

function isMutating(action: string): boolean {
  return !action.startsWith('Describe');
}

export class Ec2Api {
  readonly counts: CallCounts = { total: 0, mutating: 0, throttled: 0, failed: 0, byAction: {} };
  /** The last throttle seen and the backoff chosen, for the EC2_THROTTLED reason. */
  lastThrottle: { readonly atMs: number; readonly retryInMs: number } | undefined;
  readonly #client: EC2Client;
  readonly #pacer: Pacer;
  readonly #options: Ec2Options;

  constructor(options: Ec2Options) {
    this.#options = options;
    this.#client = new EC2Client({
      region: options.region,
      maxAttempts: 1,
      requestHandler: {
        connectionTimeout: 5_000,
        requestTimeout: options.requestTimeoutMs ?? 10_000,
        throwOnRequestTimeout: true,
      },
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    });
    this.#pacer = new Pacer(options.bucket, options.clock);
  }

  async send<Out>(command: Command<Out>): Promise<Out> {
    const action = actionOf(command);
    let last: CloudError | undefined;
    for (let attempt = 0; attempt < this.#options.maxAttempts; attempt++) {
      await this.#pacer.take();
      this.#count(action);
      // Measured after the bucket: the latency is EC2's, not our own pacing.
      const began = performance.now();
      try {
        // biome-ignore lint/suspicious/noExplicitAny: each SDK command carries its own output type
        const out = (await this.#client.send(command as any)) as Out;
        this.#options.onCall?.({ action, ms: performance.now() - began });
        return out;
      } catch (error) {
        last = classify(error, action);
        this.#options.onCall?.({ action, ms: performance.now() - began, error: last.code });
        this.counts.failed++;
        if (!retryable(last.kind)) throw last;
        const wait = backoffMs(attempt, this.#options.backoff, this.#options.random);
        if (last.kind === 'throttled') {
          this.counts.throttled++;
          this.lastThrottle = { atMs: this.#options.clock.now(), retryInMs: wait };
        }
        if (attempt + 1 < this.#options.maxAttempts) await this.#options.clock.sleep(wait);
      }
    }
    throw last!;
  }

  #count(action: string): void {
    this.counts.total++;
    if (isMutating(action)) this.counts.mutating++;
    this.counts.byAction[action] = (this.counts.byAction[action] ?? 0) + 1;
  }

  close(): void {
    this.#client.destroy();
  }
}
