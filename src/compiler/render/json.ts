/** The plan as JSON: the HostPlan value itself, two-space indented, newline-terminated (stable for golden files). */
import type { HostPlan } from '../plan.ts';

export function renderPlanJson(plan: HostPlan): string {
  return `${JSON.stringify(plan, null, 2)}\n`;
}
