import type { HostPlan } from '../compiler/plan.ts';
import type { ChangeSet } from './diff.ts';

/**
 * A plan saved by `vpc-cni plan --out FILE` for `vpc-cni apply FILE`: the plan plus the changes it was shown with.
 * Those changes are its preconditions: each names the live object it depends on (`previous` for a replace, the
 * object for a delete, absence for an add), and `apply` refuses unless the live state still calls for exactly them.
 */

export const SAVED_PLAN_FORMAT = 'vpc-cni-saved-plan';

export interface SavedPlan {
  readonly format: typeof SAVED_PLAN_FORMAT;
  readonly version: 1;
  /** The namespace the plan was made against (`--netns`), so `apply FILE` targets the same one. */
  readonly netns?: string;
  readonly plan: HostPlan;
  readonly changes: ChangeSet;
}

export function savePlan(plan: HostPlan, changes: ChangeSet, netns?: string): string {
  const saved: SavedPlan = {
    format: SAVED_PLAN_FORMAT,
    version: 1,
    ...(netns === undefined ? {} : { netns }),
    plan,
    changes,
  };
  return `${JSON.stringify(saved, null, 2)}\n`;
}

export function parseSavedPlan(text: string, source: string): SavedPlan {
  let value: Partial<SavedPlan>;
  try {
    value = JSON.parse(text) as Partial<SavedPlan>;
  } catch (error) {
    throw new Error(`${source}: not JSON: ${(error as Error).message}`);
  }
  if (value?.format !== SAVED_PLAN_FORMAT || value.version !== 1) {
    throw new Error(`${source}: not a saved plan (expected "format": "${SAVED_PLAN_FORMAT}", "version": 1)`);
  }
  if (typeof value.plan !== 'object' || value.plan?.version !== 1 || !Array.isArray(value.changes)) {
    throw new Error(`${source}: a saved plan needs a version-1 "plan" object and a "changes" array`);
  }
  return value as SavedPlan;
}
