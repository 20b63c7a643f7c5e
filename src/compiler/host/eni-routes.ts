/**
 * Per secondary ENI (reference `setupENINetwork`): its primary address, a route table of its own with the subnet
 * gateway and a default route, no subnet route in main, and `from <ENI IP> lookup <table>` so traffic sourced from the
 * ENI address leaves through the ENI (asymmetric routing would otherwise drop it at the VPC).
 */
import { ipv4SubnetGateway, prefixLength } from '../../lib/address.ts';
import type { AbsentRoute, Address, IpRule, Route } from '../plan.ts';
import { type HostContext, PlanError, type SecondaryEni } from './context.ts';
import { Priority, RouteTable, VPC_IPV6_GATEWAY } from './names.ts';

export interface EniRouting {
  readonly addresses: Address[];
  readonly routes: Route[];
  readonly absentRoutes: AbsentRoute[];
  readonly rules: IpRule[];
}

interface EniAddressing {
  readonly address: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly hostBits: 32 | 128;
}

function addressing(ctx: HostContext, eni: SecondaryEni): EniAddressing {
  if (ctx.family === 'inet') {
    const address = eni.localIpv4s[0]!;
    return { address, subnet: eni.subnetCidr, gateway: ipv4SubnetGateway(eni.subnetCidr)!, hostBits: 32 };
  }
  const address = eni.ipv6s[0];
  const subnet = eni.subnetIpv6Cidrs[0];
  if (address === undefined || subnet === undefined) {
    throw new PlanError(`ENI ${eni.interfaceId} (${eni.name}): IPv6 mode needs an IPv6 address and subnet IPv6 CIDR`);
  }
  return { address, subnet, gateway: VPC_IPV6_GATEWAY, hostBits: 128 };
}

function eniRouting(ctx: HostContext, eni: SecondaryEni): EniRouting {
  const { address, subnet, gateway, hostBits } = addressing(ctx, eni);
  const family = ctx.family;
  const dev = eni.name;
  const because = `fact:eni ${eni.interfaceId}`;
  return {
    addresses: [{ kind: 'address', dev, cidr: `${address}/${prefixLength(subnet)}`, because }],
    routes: [
      { kind: 'route', family, table: eni.table, dst: `${gateway}/${hostBits}`, dev, scope: 'link', because },
      {
        kind: 'route',
        family,
        table: eni.table,
        dst: family === 'inet' ? '0.0.0.0/0' : '::/0',
        dev,
        via: gateway,
        scope: 'global',
        because,
      },
    ],
    // The kernel adds the subnet route when the address is added; left in main, pod traffic to the subnet would
    // leave through this ENI regardless of the pod's ENI.
    absentRoutes: [{ kind: 'absent-route', family, table: RouteTable.main, dst: subnet, dev, because }],
    rules: [
      {
        kind: 'rule',
        family,
        priority: Priority.eniPrimaryIp,
        table: eni.table,
        from: `${address}/${hostBits}`,
        because,
      },
    ],
  };
}

export function buildEniRouting(ctx: HostContext): EniRouting {
  const all = ctx.secondaries.map((eni) => eniRouting(ctx, eni));
  return {
    addresses: all.flatMap((r) => r.addresses),
    routes: all.flatMap((r) => r.routes),
    absentRoutes: all.flatMap((r) => r.absentRoutes),
    rules: all.flatMap((r) => r.rules),
  };
}
