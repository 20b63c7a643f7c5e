/**
 * Client-side pacing for EC2: a token bucket every call passes through (so a burst of pods, or a fleet restarting at
 * once, cannot run the account into RequestLimitExceeded), and full-jitter exponential backoff for retries.
 */
import { type BucketSpec, TokenBucket } from '../../lib/token-bucket.ts';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Calls wait here, in arrival order, until the bucket has a token for them. */
export class Pacer {
  readonly #bucket: TokenBucket;
  readonly #clock: Clock;
  #queue: Promise<void> = Promise.resolve();

  constructor(spec: BucketSpec, clock: Clock) {
    this.#bucket = new TokenBucket(spec, clock.now());
    this.#clock = clock;
  }

  /** Waits for one token; returns how long the caller waited. */
  take(): Promise<number> {
    const turn = this.#queue.then(() => this.#takeInTurn());
    this.#queue = turn.then(() => undefined);
    return turn;
  }

  async #takeInTurn(): Promise<number> {
    const start = this.#clock.now();
    // A timer may fire a little early; the loop sleeps again for what is left rather than overdrawing the bucket.
    while (!this.#bucket.take(this.#clock.now())) await this.#clock.sleep(this.#bucket.waitMs(this.#clock.now()));
    return this.#clock.now() - start;
  }
}

export interface BackoffSpec {
  readonly baseMs: number;
  readonly maxMs: number;
}

/** Full jitter: a uniform wait in [0, min(max, base·2^attempt)], so retrying clients spread out. */
export function backoffMs(attempt: number, spec: BackoffSpec, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(spec.maxMs, spec.baseMs * 2 ** attempt));
}
