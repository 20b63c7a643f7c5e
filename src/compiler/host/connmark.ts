/**
 * Connection marking. A pod on a secondary ENI routes by `from <pod> lookup <ENI table>` (1536); connections that must
 * leave through the primary ENI instead carry the mark M, which `fwmark M/M lookup main` (1024) catches first:
 *  - off-VPC egress of pods (to be SNATed to the primary address): marked on the first packet, in nftables
 *    `table ip aws-cni` when iptables runs on nf_tables, else in the nat chain `AWS-CONNMARK-CHAIN-0`;
 *  - NodePort traffic arriving on the primary ENI (mangle `--set-xmark`), so the pod's replies go back the same way.
 * The mangle `--restore-mark` rules copy the connection mark to every later packet from pods and VLAN links.
 */
import type { IptablesChain, IptablesRule, NftTable } from '../plan.ts';
import { type HostContext, hexMark } from './context.ts';
import { chain, comment, destination, inInterfacePrefix, rule } from './iptables.ts';
import { CONNMARK_CHAIN, Comment, Nft, VLAN_PREFIX } from './names.ts';

export interface Connmark {
  readonly chains: IptablesChain[];
  readonly rules: IptablesRule[];
  readonly nftTables: NftTable[];
}

function restoreMark(mark: string): string[] {
  return ['-j', 'CONNMARK', '--restore-mark', '--nfmask', mark, '--ctmask', mark];
}

/** mangle PREROUTING rows of the reference's truth table (EXTERNALSNAT × NODE_PORT_SUPPORT). */
function mangleRules(ctx: HostContext): IptablesRule[] {
  const { AWS_VPC_CNI_NODE_PORT_SUPPORT: nodePort, AWS_VPC_K8S_CNI_EXTERNALSNAT: externalSnat } = ctx.config;
  const mark = hexMark(ctx.mark);
  const tagged = comment(Comment.primaryEni);
  const rules: IptablesRule[] = [];
  if (nodePort) {
    const args = ['-i', ctx.primary.name, ...tagged, '-m', 'addrtype', '--dst-type', 'LOCAL', '--limit-iface-in'];
    rules.push(
      rule(
        'mangle',
        'PREROUTING',
        [...args, '-j', 'CONNMARK', '--set-xmark', `${mark}/${mark}`],
        'AWS_VPC_CNI_NODE_PORT_SUPPORT',
      ),
    );
  }
  if (nodePort || !externalSnat) {
    const veth = inInterfacePrefix(ctx.config.AWS_VPC_K8S_CNI_VETHPREFIX);
    rules.push(rule('mangle', 'PREROUTING', [...veth, ...tagged, ...restoreMark(mark)], 'AWS_VPC_K8S_CNI_VETHPREFIX'));
  }
  if (nodePort) {
    rules.push(
      rule(
        'mangle',
        'PREROUTING',
        [...inInterfacePrefix(VLAN_PREFIX), ...tagged, ...restoreMark(mark)],
        'AWS_VPC_CNI_NODE_PORT_SUPPORT',
      ),
    );
  }
  return rules;
}

/**
 * CIDRs whose traffic keeps the pod's ENI: VPC CIDRs then exclusions. The reference inserts each at the top, so the
 * kernel holds them reversed; their mutual order does not matter, only that all precede the set-mark rule.
 */
function exemptCidrs(ctx: HostContext): string[] {
  return [...ctx.vpcCidrs, ...ctx.snatExclusions].toReversed();
}

function legacyConnmark(ctx: HostContext): Connmark {
  const mark = hexMark(ctx.mark);
  const because = 'fact:iptables-mode';
  const prerouting = [
    rule(
      'nat',
      'PREROUTING',
      [...inInterfacePrefix(ctx.config.AWS_VPC_K8S_CNI_VETHPREFIX), ...comment(Comment.outbound), '-j', CONNMARK_CHAIN],
      because,
    ),
    // After the jump, so the first packet of a connection already carries the mark it was just given.
    rule('nat', 'PREROUTING', [...comment(Comment.connmark), ...restoreMark(mark)], because),
  ];
  const returns = exemptCidrs(ctx).map((cidr) =>
    rule('nat', CONNMARK_CHAIN, [...destination(cidr), ...comment(Comment.connmarkReturn), '-j', 'RETURN'], because),
  );
  const setMark = rule(
    'nat',
    CONNMARK_CHAIN,
    [...comment(Comment.connmark), '-j', 'CONNMARK', '--set-xmark', `${mark}/${mark}`],
    because,
  );
  return {
    chains: [chain('nat', CONNMARK_CHAIN, because)],
    rules: [...prerouting, ...returns, setMark],
    nftTables: [],
  };
}

/** `0x00000080`: how `nft list` prints a 32-bit mark constant. */
function nftMark(mark: number): string {
  return `0x${mark.toString(16).padStart(8, '0')}`;
}

function nftConnmark(ctx: HostContext): Connmark {
  const mark = nftMark(ctx.mark);
  const table: NftTable = {
    kind: 'nft-table',
    family: Nft.family,
    name: Nft.table,
    because: 'fact:iptables-mode',
    chains: [
      {
        name: Nft.baseChain,
        base: { type: 'nat', hook: 'prerouting', priority: Nft.priority, policy: 'accept' },
        rules: [
          // Traffic to the node itself is never rerouted.
          'fib daddr type local return',
          `iifname "${ctx.config.AWS_VPC_K8S_CNI_VETHPREFIX}*" counter jump ${Nft.markChain}`,
          `counter meta mark set ct mark & ${mark}`,
        ],
      },
      {
        name: Nft.markChain,
        rules: [
          ...exemptCidrs(ctx).map((cidr) => `counter ip daddr ${cidr} return`),
          `counter ct mark set ct mark | ${mark}`,
        ],
      },
    ],
  };
  return { chains: [], rules: [], nftTables: [table] };
}

export function buildConnmark(ctx: HostContext): Connmark {
  if (ctx.family !== 'inet') return { chains: [], rules: [], nftTables: [] };
  const mangle = mangleRules(ctx);
  // With external SNAT nothing marks outbound connections (the reference's connmark Cleanup).
  if (ctx.config.AWS_VPC_K8S_CNI_EXTERNALSNAT) return { chains: [], rules: mangle, nftTables: [] };
  const backend = ctx.iptablesMode === 'legacy' ? legacyConnmark(ctx) : nftConnmark(ctx);
  return { ...backend, rules: [...mangle, ...backend.rules] };
}
