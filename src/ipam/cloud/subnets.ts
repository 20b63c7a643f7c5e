/**
 * Subnet discovery (reference §3.2): subnets of the node's VPC and zone tagged `kubernetes.io/role/cni`, most free
 * addresses first. The primary subnet is eligible unless tagged `0`; a secondary subnet needs the tag. When a subnet
 * carries any `cni.networking.k8s.aws/cluster/*` tag, one of them must name this cluster.
 */
export interface SubnetInfo {
  readonly id: string;
  /** AvailableIpAddressCount; −1 when not described (custom networking, discovery off). */
  readonly free: number;
  readonly tags: Readonly<Record<string, string>>;
}

export const ROLE_TAG = 'kubernetes.io/role/cni';
export const CLUSTER_TAG_PREFIX = 'cni.networking.k8s.aws/cluster/';

export function subnetEligible(subnet: SubnetInfo, primarySubnetId: string, clusterName: string): boolean {
  const role = subnet.tags[ROLE_TAG];
  if (role === '0') return false;
  if (subnet.id !== primarySubnetId && role === undefined) return false;
  const clusterTags = Object.keys(subnet.tags).filter((k) => k.startsWith(CLUSTER_TAG_PREFIX));
  if (clusterName !== '' && clusterTags.length > 0) return clusterTags.includes(`${CLUSTER_TAG_PREFIX}${clusterName}`);
  return true;
}

export function rankSubnets(
  subnets: readonly SubnetInfo[],
  primarySubnetId: string,
  clusterName: string,
): SubnetInfo[] {
  return subnets
    .filter((s) => subnetEligible(s, primarySubnetId, clusterName))
    .sort((a, b) => b.free - a.free || a.id.localeCompare(b.id));
}
