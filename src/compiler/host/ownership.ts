/**
 * The ownership contract: what the applier may change or delete. Every marker below is one the reference also uses,
 * so state aws-node left behind (an old veth prefix, mark or interface in a tagged rule; stale chain generations) is
 * recognised as ours and removed, while kube-proxy's chains, foreign rules and other tables are never touched.
 */
import type { Ownership } from '../plan.ts';
import type { HostContext } from './context.ts';
import { Comment, Nft, OWNED_CHAIN_PREFIXES, Priority } from './names.ts';

export function buildOwnership(ctx: HostContext): Ownership {
  const priorities: number[] = [Priority.fwmark, Priority.externalService, Priority.eniPrimaryIp];
  // Pod rules and routes are owned only when the caller knows the pods; otherwise a plan without pods would delete
  // every running pod's routing.
  if (ctx.pods !== undefined) priorities.push(Priority.toPod, Priority.fromPod);
  // Pref 20 only while strict mode wants it: deleting it in other modes would leave no `lookup local` rule at all.
  if (ctx.config.ENABLE_POD_ENI && ctx.config.POD_SECURITY_GROUP_ENFORCING_MODE === 'strict') {
    priorities.push(Priority.local);
  }
  return {
    rulePriorities: priorities.toSorted((a, b) => a - b),
    routeTables: ctx.secondaries.map((eni) => eni.table),
    iptablesChainPrefixes: [...OWNED_CHAIN_PREFIXES],
    iptablesComments: Object.values(Comment),
    nftTables: [`${Nft.family} ${Nft.table}`],
    vethPrefixes: ctx.pods === undefined ? [] : [ctx.config.AWS_VPC_K8S_CNI_VETHPREFIX],
  };
}
