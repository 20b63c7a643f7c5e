/**
 * Client-side pacing for EC2: a token bucket every call passes through (so a burst of pods, or a fleet restarting at
 * once, cannot run the account into RequestLimitExceeded), and full-jitter exponential backoff for retries.
 */

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface BucketSpec {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Bucket size: calls allowed back to back after a quiet period. */
  readonly burst: number;
}

export class TokenBucket {
  readonly #spec: BucketSpec;
  readonly #clock: Clock;
  #tokens: number;
  #updatedAt: number;
  /** Callers queue so tokens go out in arrival order. */
  #queue: Promise<void> = Promise.resolve();

  constructor(spec: BucketSpec, clock: Clock) {
    if (!(spec.ratePerSecond > 0) || !(spec.burst >= 1)) {
      throw new RangeError(`token bucket needs rate > 0 and burst ≥ 1, got ${spec.ratePerSecond}/${spec.burst}`);
    }
    this.#spec = spec;
    this.#clock = clock;
    this.#tokens = spec.burst;
    this.#updatedAt = clock.now();
  }

  /** Waits for one token; returns how long the caller waited. */
  take(): Promise<number> {
    const turn = this.#queue.then(() => this.#takeNow());
    this.#queue = turn.then(() => undefined);
    return turn;
  }

  async #takeNow(): Promise<number> {
    this.#refill();
    let waited = 0;
    if (this.#tokens < 1) {
      waited = Math.ceil(((1 - this.#tokens) / this.#spec.ratePerSecond) * 1000);
      await this.#clock.sleep(waited);
      this.#refill();
    }
    this.#tokens = Math.max(this.#tokens - 1, 0);
    return waited;
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(
      this.#spec.burst,
      this.#tokens + ((now - this.#updatedAt) / 1000) * this.#spec.ratePerSecond,
    );
    this.#updatedAt = now;
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
