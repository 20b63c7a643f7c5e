/**
 * `compileHostPlan(config, facts, pods) → HostPlan`: the host network state the Amazon VPC CNI v1.23 sets up for this
 * config and node, as data. Pure and deterministic: the same inputs give the same plan, byte for byte, as JSON.
 */
import type { NodeFacts } from './facts.ts';
import { buildConnmark } from './host/connmark.ts';
import { type HostConfig, hostContext, type PodAssignment } from './host/context.ts';
import { buildEgressRejects } from './host/egress.ts';
import { buildEniRouting } from './host/eni-routes.ts';
import { buildLinks } from './host/links.ts';
import { buildOwnership } from './host/ownership.ts';
import { buildPodRouting } from './host/pods.ts';
import { buildNodeRules } from './host/rules.ts';
import { buildSnatChain } from './host/snat.ts';
import { buildSysctls } from './host/sysctls.ts';
import type { HostPlan } from './plan.ts';

export { hostVethName } from '../lib/pod-wiring.ts';
export type { HostConfig, PodAssignment } from './host/context.ts';
export { eniRouteTable, PlanError } from './host/context.ts';

/**
 * @param pods the node's pod addresses from IPAM; `undefined` when the caller does not know them (e.g. `vpc-cni plan`
 *   without IPAM state): pod routes and rules are then left out of both the plan and the ownership.
 * @throws PlanError when config and facts cannot describe a valid node (message names the key or fact).
 */
export function compileHostPlan(config: HostConfig, facts: NodeFacts, pods?: readonly PodAssignment[]): HostPlan {
  const ctx = hostContext(config, facts, pods);
  const node = buildNodeRules(ctx);
  const eni = buildEniRouting(ctx);
  const pod = buildPodRouting(ctx);
  const snat = buildSnatChain(ctx);
  const connmark = buildConnmark(ctx);
  const plan: HostPlan = {
    version: 1,
    node: { instanceId: facts.instanceId, instanceType: facts.instanceType, primaryInterface: ctx.primary.name },
    links: buildLinks(ctx),
    sysctls: buildSysctls(ctx),
    addresses: eni.addresses,
    routes: [...eni.routes, ...pod.routes],
    absentRoutes: eni.absentRoutes,
    rules: [...node.rules, ...eni.rules, ...pod.rules].toSorted((a, b) => a.priority - b.priority),
    iptablesChains: [...snat.chains, ...connmark.chains],
    iptablesRules: [...buildEgressRejects(ctx), ...snat.rules, ...connmark.rules],
    nftTables: connmark.nftTables,
    ownership: buildOwnership(ctx),
  };
  return node.absentRules.length > 0 ? { ...plan, absentRules: node.absentRules } : plan;
}
