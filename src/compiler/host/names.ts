/**
 * Every name, mark, priority and table number the reference (Amazon VPC CNI v1.23) puts on a node. They are copied
 * verbatim so that a node configured by aws-node plans zero changes; this is the only module that spells them (the
 * pod wiring numbers, shared with the `aws-cni` plugin, come from the leaf `src/lib/pod-wiring.ts`).
 */
import { PodRulePriority } from '../../lib/pod-wiring.ts';

/** `ip rule` priorities. */
export const Priority = {
  /** `from all lookup local`, moved here from 0 in security-groups-for-pods strict mode. */
  local: 20,
  /** `to <pod IP> lookup main`: traffic to a pod always uses the main table (its /32 veth route). */
  toPod: PodRulePriority.toPod,
  /** `fwmark M/M lookup main`: connmarked traffic (NodePort replies, off-VPC egress) leaves via the primary ENI. */
  fwmark: 1024,
  /** `to <AWS_EXTERNAL_SERVICE_CIDRS item> lookup main`. */
  externalService: 1535,
  /** `from <pod IP> lookup <ENI table>`: pods on a secondary ENI leave through that ENI. */
  fromPod: PodRulePriority.fromPod,
  /** `from <ENI primary IP> lookup <ENI table>`. */
  eniPrimaryIp: 32765,
} as const;

export const RouteTable = { local: 255, main: 254 } as const;

/** Tables of ENIs on network cards > 0 are `10000 + 100·card + device`. */
export const OTHER_CARD_TABLE_BASE = 10000;

export const SNAT_CHAIN = 'AWS-SNAT-CHAIN-0';
export const CONNMARK_CHAIN = 'AWS-CONNMARK-CHAIN-0';
/** Prefixes of every chain generation the reference ever created (`-1`, `-2`… are stale layouts). */
export const OWNED_CHAIN_PREFIXES = ['AWS-SNAT-CHAIN-', 'AWS-CONNMARK-CHAIN-'] as const;

/** `-m comment` texts; rules in built-in chains are recognised as ours by these. */
export const Comment = {
  snatJump: 'AWS SNAT CHAIN',
  snatExclusion: 'AWS SNAT CHAIN EXCLUSION',
  snat: 'AWS, SNAT',
  primaryEni: 'AWS, primary ENI',
  outbound: 'AWS, outbound connections',
  connmark: 'AWS, CONNMARK',
  connmarkReturn: 'AWS CONNMARK CHAIN',
  blockV4: 'Block Node Local Pod access via IPv4',
  blockV6: 'Block Node Local Pod access via IPv6',
} as const;

/** Native nftables connmark (the reference's backend when iptables runs on nf_tables). */
export const Nft = {
  family: 'ip',
  table: 'aws-cni',
  baseChain: 'nat-prerouting',
  markChain: 'snat-mark',
  /** dstnat + 10: after kube-proxy's DNAT, so the chain sees the pod IP, not the ClusterIP. */
  priority: -90,
} as const;

/** Interface prefix of branch-ENI VLAN links; excluded from SNAT and given restore-mark rules. */
export const VLAN_PREFIX = 'vlan';

/** Node-local egress ranges of the egress-cni plugin, unreachable from other nodes' pods. */
export const EGRESS_V4_RANGE = '169.254.172.0/22';
export const EGRESS_V6_RANGE = 'fd00::ac:0/118';

/** Gateway of every VPC IPv6 subnet. */
export const VPC_IPV6_GATEWAY = 'fe80:ec2::1';
