/**
 * `AWS-SNAT-CHAIN-0` (reference `buildIptablesSNATRules`): pod traffic leaving the VPC is SNATed to the primary ENI
 * address; VPC CIDRs and exclusions RETURN first. IPv4 only: IPv6 pods have routable addresses.
 */
import type { IptablesChain, IptablesRule } from '../plan.ts';
import type { HostContext } from './context.ts';
import { chain, comment, destination, rule } from './iptables.ts';
import { Comment, SNAT_CHAIN, VLAN_PREFIX } from './names.ts';

export interface SnatChain {
  readonly chains: IptablesChain[];
  readonly rules: IptablesRule[];
}

function randomFlag(mode: string): string[] {
  if (mode === 'prng') return ['--random-fully'];
  if (mode === 'hashrandom') return ['--random'];
  return [];
}

export function buildSnatChain(ctx: HostContext): SnatChain {
  if (ctx.family !== 'inet') return { chains: [], rules: [] };
  // The reference creates the chain unconditionally and leaves it empty with external SNAT; keeping it avoids a
  // spurious delete on a node migrated from aws-node.
  const chains = [chain('nat', SNAT_CHAIN, 'AWS_VPC_K8S_CNI_EXTERNALSNAT')];
  if (ctx.config.AWS_VPC_K8S_CNI_EXTERNALSNAT) return { chains, rules: [] };
  const returns = [
    ...ctx.vpcCidrs.map((cidr) => ({ cidr, text: Comment.snatJump, because: 'fact:vpc-ipv4-cidr-blocks' })),
    ...ctx.snatExclusions.map((cidr) => ({
      cidr,
      text: Comment.snatExclusion,
      because: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
    })),
  ]
    // Each is inserted at position 1 by the reference, so a fresh chain holds them in reverse; order among RETURNs
    // does not change meaning, only that they all precede the SNAT rule.
    .toReversed()
    .map(({ cidr, text, because }) =>
      rule('nat', SNAT_CHAIN, [...destination(cidr), ...comment(text), '-j', 'RETURN'], because),
    );
  const snat = rule(
    'nat',
    SNAT_CHAIN,
    [
      '!',
      '-o',
      `${VLAN_PREFIX}+`,
      ...comment(Comment.snat),
      '-m',
      'addrtype',
      '!',
      '--dst-type',
      'LOCAL',
      '-j',
      'SNAT',
      '--to-source',
      ctx.facts.localIpv4,
      ...randomFlag(ctx.config.AWS_VPC_K8S_CNI_RANDOMIZESNAT),
    ],
    'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
  );
  const jump = rule(
    'nat',
    'POSTROUTING',
    [...comment(Comment.snatJump), '-j', SNAT_CHAIN],
    'AWS_VPC_K8S_CNI_EXTERNALSNAT',
  );
  return { chains, rules: [jump, ...returns, snat] };
}
