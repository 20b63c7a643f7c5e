/**
 * A token bucket as arithmetic on a time the caller passes in (milliseconds), so one implementation serves both sides
 * of EC2's request limits: the simulator refuses a call when the bucket is empty (`RequestLimitExceeded`) and the
 * agent's EC2 client waits until it is not (src/ipam/cloud/rate.ts).
 */

export interface BucketSpec {
  /** Tokens added per second. */
  readonly ratePerSecond: number;
  /** Bucket size: calls allowed back to back after a quiet period. */
  readonly burst: number;
}

export class TokenBucket {
  readonly #spec: BucketSpec;
  #tokens: number;
  #updatedAt: number;

  /** Starts full at `now`. */
  constructor(spec: BucketSpec, now: number) {
    if (!(spec.ratePerSecond > 0) || !(spec.burst >= 1)) {
      throw new RangeError(`token bucket needs rate > 0 and burst ≥ 1, got ${spec.ratePerSecond}/${spec.burst}`);
    }
    this.#spec = spec;
    this.#tokens = spec.burst;
    this.#updatedAt = now;
  }

  /** Takes one token if there is one at `now`. */
  take(now: number): boolean {
    this.#refill(now);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whole milliseconds from `now` until a token is there; 0 if one is there now. */
  waitMs(now: number): number {
    this.#refill(now);
    return this.#tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - this.#tokens) / this.#spec.ratePerSecond) * 1000));
  }

  #refill(now: number): void {
    // A clock that steps back (a test's manual clock, a wall clock set back) refills nothing rather than draining.
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#tokens = Math.min(this.#spec.burst, this.#tokens + (elapsed / 1000) * this.#spec.ratePerSecond);
    this.#updatedAt = Math.max(now, this.#updatedAt);
  }
}
