import type { HostPlan } from '../compiler/plan.ts';
import { counted } from '../lib/counted.ts';
import { type ChangeSet, diff } from './diff.ts';
import type { LiveState } from './live.ts';
import { readForPlan } from './read.ts';
import { changeLine } from './render.ts';
import type { Runner } from './run.ts';

/**
 * After a write, the kernel must show nothing left to change. Netlink and netfilter changes are synchronous, so a
 * retry only covers a concurrent writer (kubelet, another agent) racing us; the counts are small on purpose.
 */
export const VERIFY_ATTEMPTS = 2;
export const VERIFY_INTERVAL_MS = 100;

export class VerifyError extends Error {
  override readonly name = 'VerifyError';
  readonly remaining: ChangeSet;
  constructor(remaining: ChangeSet) {
    super(
      `after apply, ${counted(remaining.length, 'change')} remain:\n${remaining.map((c) => `  ${changeLine(c)}`).join('\n')}`,
    );
    this.remaining = remaining;
  }
}

export async function verify(runner: Runner, plan: HostPlan): Promise<LiveState> {
  let remaining: ChangeSet = [];
  for (let attempt = 1; attempt <= VERIFY_ATTEMPTS; attempt++) {
    const live = await readForPlan(runner, plan);
    remaining = diff(plan, live);
    if (remaining.length === 0) return live;
    if (attempt < VERIFY_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, VERIFY_INTERVAL_MS));
  }
  throw new VerifyError(remaining);
}
