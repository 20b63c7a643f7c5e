/** Node-wide `ip rule`s: the connmark fwmark rule, external service CIDRs, and the SGP-strict local-table move. */
import type { AbsentRule, IpFamily, IpRule } from '../plan.ts';
import type { HostContext } from './context.ts';
import { Priority, RouteTable, VPC_IPV6_GATEWAY } from './names.ts';

export interface NodeRules {
  readonly rules: IpRule[];
  readonly absentRules: AbsentRule[];
}

function fwmarkRule(ctx: HostContext): IpRule[] {
  const { AWS_VPC_CNI_NODE_PORT_SUPPORT: nodePort, AWS_VPC_K8S_CNI_EXTERNALSNAT: externalSnat } = ctx.config;
  // Needed for NodePort replies (set-mark on the primary ENI) and for off-VPC egress of secondary-ENI pods (connmark);
  // with external SNAT and no NodePort neither marks anything.
  if (!nodePort && externalSnat) return [];
  return [
    {
      kind: 'rule',
      family: ctx.family,
      priority: Priority.fwmark,
      table: RouteTable.main,
      fwmark: { mark: ctx.mark, mask: ctx.mark },
      because: externalSnat ? 'AWS_VPC_CNI_NODE_PORT_SUPPORT' : 'AWS_VPC_K8S_CNI_EXTERNALSNAT',
    },
  ];
}

function externalServiceRules(ctx: HostContext): IpRule[] {
  return ctx.externalServiceCidrs.map((to) => ({
    kind: 'rule',
    family: 'inet',
    priority: Priority.externalService,
    table: RouteTable.main,
    to,
    because: 'AWS_EXTERNAL_SERVICE_CIDRS',
  }));
}

/**
 * Security groups for pods, strict mode: the `lookup local` rule moves from 0 to 20 so the pref-10 `iif` rules of
 * branch-ENI pods win over local delivery. The reference never moves it back, so neither priority is owned otherwise.
 */
function strictPodEniRules(ctx: HostContext): NodeRules {
  const { ENABLE_POD_ENI, POD_SECURITY_GROUP_ENFORCING_MODE } = ctx.config;
  if (!ENABLE_POD_ENI || POD_SECURITY_GROUP_ENFORCING_MODE !== 'strict') return { rules: [], absentRules: [] };
  const because = 'POD_SECURITY_GROUP_ENFORCING_MODE';
  const family: IpFamily = ctx.family;
  const rules: IpRule[] = [{ kind: 'rule', family, priority: Priority.local, table: RouteTable.local, because }];
  if (family === 'inet6') {
    // Router advertisements from the VPC gateway must still reach the local table before any pod rule.
    rules.unshift({
      kind: 'rule',
      family,
      priority: 0,
      table: RouteTable.local,
      from: `${VPC_IPV6_GATEWAY}/128`,
      ipproto: 'ipv6-icmp',
      because,
    });
  }
  return { rules, absentRules: [{ kind: 'absent-rule', family, priority: 0, table: RouteTable.local, because }] };
}

export function buildNodeRules(ctx: HostContext): NodeRules {
  const strict = strictPodEniRules(ctx);
  return {
    rules: [...strict.rules, ...fwmarkRule(ctx), ...externalServiceRules(ctx)],
    absentRules: strict.absentRules,
  };
}
