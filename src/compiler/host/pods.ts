/**
 * Host side of each pod (reference `setupIPBasedContainerRouteRules`): a /32 (/128) route to its host veth in main,
 * `to <pod> lookup main` at 512, and for pods on a secondary ENI `from <pod> lookup <ENI table>` at 1536.
 */
import { isIpv6 } from '../../lib/address.ts';
import type { IpRule, Route } from '../plan.ts';
import type { HostContext, PodAssignment } from './context.ts';
import { Priority, RouteTable } from './names.ts';

export interface PodRouting {
  readonly routes: Route[];
  readonly rules: IpRule[];
}

function podRouting(pod: PodAssignment): PodRouting {
  const family = isIpv6(pod.ip) ? 'inet6' : 'inet';
  const host = `${pod.ip}/${family === 'inet' ? 32 : 128}`;
  const because = `pod ${pod.ip}`;
  const rules: IpRule[] = [
    { kind: 'rule', family, priority: Priority.toPod, table: RouteTable.main, to: host, because },
  ];
  // Table 1 is a legacy spelling of main in the reference's checkpoint.
  const table = pod.eniTable ?? RouteTable.main;
  if (table !== RouteTable.main && table !== 1) {
    rules.push({ kind: 'rule', family, priority: Priority.fromPod, table, from: host, because });
  }
  return {
    routes: [{ kind: 'route', family, table: RouteTable.main, dst: host, dev: pod.hostVeth, scope: 'link', because }],
    rules,
  };
}

export function buildPodRouting(ctx: HostContext): PodRouting {
  const pods = (ctx.pods ?? []).toSorted((a, b) => a.ip.localeCompare(b.ip, 'en', { numeric: true }));
  const all = pods.map(podRouting);
  return { routes: all.flatMap((p) => p.routes), rules: all.flatMap((p) => p.rules) };
}
