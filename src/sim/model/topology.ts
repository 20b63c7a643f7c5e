import type { VpcSpec } from './cloud.ts';
import { Cloud } from './cloud.ts';
import type { Instance } from './eni.ts';

export interface TopologyOptions {
  readonly instanceType: string;
  readonly region?: string;
  readonly accountId?: string;
  /** Replaces the default VPC; the node is launched in its first subnet with its first security group. */
  readonly vpc?: VpcSpec;
}

export const DEFAULT_REGION = 'us-west-2';
export const DEFAULT_ACCOUNT = '123456789012';

/**
 * A VPC shaped like a typical EKS one: a primary /16 with node subnets in two zones, a secondary 100.64.0.0/16 with
 * pod subnets for custom networking (tagged for subnet discovery), and a node and a pod security group.
 */
export function defaultVpc(region: string): VpcSpec {
  return {
    cidrs: ['10.0.0.0/16', '100.64.0.0/16'],
    ipv6Cidr: '2600:1f14:abc:1200::/56',
    subnets: [
      { cidr: '10.0.0.0/20', zone: `${region}a`, tags: { Name: 'nodes-a' }, ipv6Cidr: '2600:1f14:abc:1200::/64' },
      { cidr: '10.0.16.0/20', zone: `${region}b`, tags: { Name: 'nodes-b' }, ipv6Cidr: '2600:1f14:abc:1201::/64' },
      { cidr: '100.64.0.0/19', zone: `${region}a`, tags: { Name: 'pods-a', 'kubernetes.io/role/cni': '1' } },
      { cidr: '100.64.32.0/19', zone: `${region}b`, tags: { Name: 'pods-b', 'kubernetes.io/role/cni': '1' } },
    ],
    securityGroups: [
      { name: 'eks-nodes', description: 'EKS worker nodes' },
      { name: 'eks-pods', description: 'Pods on secondary subnets' },
    ],
  };
}

/** Builds the VPC and launches the one node instance the simulators serve. */
export function buildCloud(options: TopologyOptions): { cloud: Cloud; instance: Instance } {
  const region = options.region ?? DEFAULT_REGION;
  const cloud = new Cloud(region, options.accountId ?? DEFAULT_ACCOUNT, options.vpc ?? defaultVpc(region));
  const subnet = [...cloud.subnets.values()][0];
  const group = [...cloud.securityGroups.values()][0];
  if (subnet === undefined || group === undefined)
    throw new Error('simulated VPC: needs at least one subnet and one security group');
  const instance = cloud.launchInstance(options.instanceType, subnet.id, [group.id]);
  return { cloud, instance };
}
