import { type BucketSpec, TokenBucket } from '../lib/token-bucket.ts';
import type { ThrottleClass } from './ec2/actions/action.ts';

export type ThrottleSpec = Readonly<Record<ThrottleClass, BucketSpec>>;

/**
 * EC2's documented request-token buckets per action class: describes 100 burst / 20 per second, describes that are
 * neither filtered nor paginated 50 / 10, mutations 50 / 5 (see "Request throttling for the Amazon EC2 API").
 */
export const EC2_BUCKETS: ThrottleSpec = {
  'non-mutating': { burst: 100, ratePerSecond: 20 },
  unfiltered: { burst: 50, ratePerSecond: 10 },
  mutating: { burst: 50, ratePerSecond: 5 },
};

/** One bucket per action class; `false` turns throttling off (it is on by default, as in AWS). */
export class Throttle {
  #buckets: Map<ThrottleClass, TokenBucket> | undefined;
  readonly #clock: () => number;

  constructor(spec: ThrottleSpec | false = EC2_BUCKETS, clock: () => number = () => performance.now()) {
    this.#clock = clock;
    this.configure(spec);
  }

  /** Replaces the buckets (full again); tests shrink them to reach `RequestLimitExceeded` in a few calls. */
  configure(spec: ThrottleSpec | false): void {
    const now = this.#clock();
    this.#buckets =
      spec === false
        ? undefined
        : new Map(Object.entries(spec).map(([name, bucket]) => [name as ThrottleClass, new TokenBucket(bucket, now)]));
  }

  take(throttleClass: ThrottleClass): boolean {
    return this.#buckets?.get(throttleClass)?.take(this.#clock()) ?? true;
  }
}
