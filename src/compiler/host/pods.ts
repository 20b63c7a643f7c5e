/**
 * Host side of each pod (reference `setupIPBasedContainerRouteRules`): a /32 (/128) route to its host veth in main,
 * `to <pod> lookup main` at 512, and for pods on a secondary ENI `from <pod> lookup <ENI table>` at 1536.
 */
import { createHash } from 'node:crypto';
import { isIpv6 } from '../../lib/address.ts';
import type { IpRule, Route } from '../plan.ts';
import type { HostContext, PodAssignment } from './context.ts';
import { Priority, RouteTable } from './names.ts';

/**
 * The reference's host veth name: prefix + the first 11 hex digits of sha1("<namespace>.<name>"); for the extra
 * interfaces of multi-NIC pods (index > 0) the pod name becomes "<name>.<index>".
 */
export function hostVethName(prefix: string, namespace: string, podName: string, index = 0): string {
  const name = index > 0 ? `${podName}.${index}` : podName;
  return prefix + createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11);
}

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
