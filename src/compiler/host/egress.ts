/**
 * FORWARD rejects for the egress-cni ranges: the node-local range of the other address family must not be reachable
 * from other hosts through this node. Inserted first in FORWARD, as the reference does.
 */
import type { IptablesRule } from '../plan.ts';
import type { HostContext } from './context.ts';
import { comment, rule } from './iptables.ts';
import { Comment, EGRESS_V4_RANGE, EGRESS_V6_RANGE } from './names.ts';

function reject(family: 'inet' | 'inet6', range: string, text: string, because: string): IptablesRule {
  const rejectWith = family === 'inet' ? 'icmp-port-unreachable' : 'icmp6-port-unreachable';
  return {
    ...rule(
      'filter',
      'FORWARD',
      [
        '-d',
        range,
        '-m',
        'conntrack',
        '--ctstate',
        'NEW',
        ...comment(text),
        '-j',
        'REJECT',
        '--reject-with',
        rejectWith,
      ],
      because,
      family,
    ),
    position: 'head',
  };
}

export function buildEgressRejects(ctx: HostContext): IptablesRule[] {
  if (ctx.config.ENABLE_IPv6) return [reject('inet', EGRESS_V4_RANGE, Comment.blockV4, 'ENABLE_IPv6')];
  if (ctx.config.ENABLE_V6_EGRESS) return [reject('inet6', EGRESS_V6_RANGE, Comment.blockV6, 'ENABLE_V6_EGRESS')];
  return [];
}
