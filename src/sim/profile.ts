import { setTimeout as sleep } from 'node:timers/promises';
import type { LatencyClass } from './ec2/actions/action.ts';

export type ProfileName = 'fast' | 'realistic';

/** Milliseconds [min, max]; each call waits a uniformly drawn time in the range before it takes effect. */
export type LatencyRange = readonly [number, number];

export interface Profile {
  readonly ec2: Readonly<Record<LatencyClass, LatencyRange>>;
  /** How long IMDS lags the EC2 model: real nodes see new ENIs and addresses in IMDS up to seconds later. */
  readonly imdsPropagationMs: number;
  /** Interval of watch BOOKMARK events (the apiserver sends them about once a minute). */
  readonly bookmarkIntervalMs: number;
}

const NONE: LatencyRange = [0, 0];

/** Figures resemble what AWS answers in a region under no load: attach 1–2 s, assign 100–300 ms, describe ~50 ms. */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = {
  realistic: {
    ec2: {
      describe: [30, 80],
      create: [250, 500],
      attach: [1000, 2000],
      detach: [500, 1500],
      delete: [200, 400],
      assign: [100, 300],
      modify: [50, 150],
      tag: [50, 150],
    },
    imdsPropagationMs: 1000,
    bookmarkIntervalMs: 60_000,
  },
  fast: {
    ec2: {
      describe: NONE,
      create: NONE,
      attach: NONE,
      detach: NONE,
      delete: NONE,
      assign: NONE,
      modify: NONE,
      tag: NONE,
    },
    imdsPropagationMs: 0,
    bookmarkIntervalMs: 1000,
  },
};

export async function waitFor(range: LatencyRange): Promise<void> {
  const ms = range[0] + Math.random() * (range[1] - range[0]);
  if (ms > 0) await sleep(ms);
}
