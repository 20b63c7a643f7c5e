/** The plan as text for people: one section per backend, objects in plan order, each with the key that caused it. */
import type { HostPlan, PlanObject } from '../plan.ts';
import { describe } from './describe.ts';
import { renderNftTable } from './nft.ts';

const REASON_COLUMN = 100;

function line(object: PlanObject): string {
  const text = `  ${describe(object)}`;
  return `${text.padEnd(REASON_COLUMN)}  (${object.because})`;
}

function section(title: string, objects: readonly PlanObject[]): string[] {
  return objects.length === 0 ? [] : [`${title}:`, ...objects.map(line), ''];
}

export function renderPlanText(plan: HostPlan): string {
  const { ownership: own } = plan;
  return [
    `host plan for ${plan.node.instanceId} (${plan.node.instanceType}), primary interface ${plan.node.primaryInterface}`,
    '',
    ...section('links', plan.links),
    ...section('sysctls', plan.sysctls),
    ...section('addresses', plan.addresses),
    ...section('routes', plan.routes),
    ...section('absent routes', plan.absentRoutes),
    ...section('ip rules', plan.rules),
    ...section('absent ip rules', plan.absentRules ?? []),
    ...section('iptables chains', plan.iptablesChains),
    ...section('iptables rules', plan.iptablesRules),
    ...plan.nftTables.flatMap((t) => [
      `nftables (${t.because}):`,
      ...renderNftTable(t)
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`),
      '',
    ]),
    'ownership:',
    `  rule priorities: ${own.rulePriorities.join(', ')}`,
    `  route tables: ${own.routeTables.length === 0 ? '(none)' : own.routeTables.join(', ')}`,
    `  iptables chain prefixes: ${own.iptablesChainPrefixes.join(', ')}`,
    `  iptables comments: ${own.iptablesComments.map((c) => JSON.stringify(c)).join(', ')}`,
    `  nft tables: ${own.nftTables.join(', ')}`,
    `  pod veth prefixes: ${own.vethPrefixes.length === 0 ? '(pods not planned)' : own.vethPrefixes.map((p) => JSON.stringify(p)).join(', ')}`,
    '',
  ].join('\n');
}
