import { instanceTypeLimits } from '../../../data/instance-limits.ts';
import { ipv6Limit, prefixDelegationSupported } from '../../../lib/instance-limits.ts';
import type { Cloud } from '../../model/cloud.ts';
import type { Instance } from '../../model/eni.ts';
import { notFound } from '../errors.ts';
import { describePage } from '../filters.ts';
import { privateDnsName, renderEni, tagSet } from '../render.ts';
import { describeClass, type Ec2Action } from './action.ts';

export const describeInstances: Ec2Action = {
  name: 'DescribeInstances',
  latency: 'describe',
  throttle: describeClass('InstanceId'),
  run(cloud, params) {
    const { page, nextToken } = describePage(
      params,
      'InstanceId',
      cloud.instances,
      (id) => notFound('instance', id),
      (instance) => ({
        fields: {
          'instance-id': [instance.id],
          'instance-type': [instance.type],
          'availability-zone': [instance.zone],
          'subnet-id': [instance.subnetId],
          'vpc-id': [cloud.vpcId],
          'instance-state-name': ['running'],
        },
        tags: new Map(),
      }),
    );
    return {
      reservationSet: page.map((instance) => ({
        reservationId: `r-${instance.id.slice(2)}`,
        ownerId: cloud.accountId,
        instancesSet: [renderInstance(cloud, instance)],
      })),
      nextToken,
    };
  },
};

function renderInstance(cloud: Cloud, instance: Instance) {
  const primary = cloud.eni(instance.primaryEniId);
  const address = primary.privateIps[0]!.address;
  return {
    instanceId: instance.id,
    imageId: instance.imageId,
    instanceType: instance.type,
    instanceState: { code: 16, name: 'running' },
    launchTime: instance.launchTime,
    placement: { availabilityZone: instance.zone, tenancy: 'default' },
    privateDnsName: privateDnsName(cloud.region, address),
    privateIpAddress: address,
    subnetId: instance.subnetId,
    vpcId: cloud.vpcId,
    architecture: 'x86_64',
    hypervisor: 'xen',
    groupSet: primary.groups.map((id) => ({ groupId: id, groupName: cloud.securityGroups.get(id)?.name })),
    networkInterfaceSet: cloud.attachedTo(instance.id).map((eni) => renderEni(cloud, eni)),
  };
}

export const describeInstanceTypes: Ec2Action = {
  name: 'DescribeInstanceTypes',
  latency: 'describe',
  throttle: describeClass('InstanceType'),
  run(_cloud, params) {
    const types = params.list('InstanceType');
    const found = types.map((type) => ({ type, limits: instanceTypeLimits(type) ?? invalidType(type) }));
    return {
      instanceTypeSet: found.map(({ type, limits }) => ({
        instanceType: type,
        currentGeneration: true,
        bareMetal: limits.isBareMetal,
        hypervisor: limits.hypervisorType === 'unknown' ? undefined : limits.hypervisorType,
        networkInfo: {
          maximumNetworkInterfaces: limits.eniLimit,
          maximumNetworkCards: limits.networkCards.length,
          defaultNetworkCardIndex: limits.defaultNetworkCardIndex,
          networkCards: limits.networkCards.map((card) => ({
            networkCardIndex: card.networkCardIndex,
            maximumNetworkInterfaces: card.maximumNetworkInterfaces,
          })),
          ipv4AddressesPerInterface: limits.ipv4Limit,
          ipv6AddressesPerInterface: ipv6Limit(limits),
          ipv6Supported: prefixDelegationSupported(limits),
          enaSupport: prefixDelegationSupported(limits) ? 'required' : 'unsupported',
          efaSupported: false,
        },
      })),
    };
  },
};

function invalidType(type: string): never {
  throw notFound('instanceType', type);
}

export const describeSubnets: Ec2Action = {
  name: 'DescribeSubnets',
  latency: 'describe',
  throttle: describeClass('SubnetId'),
  run(cloud, params) {
    const { page, nextToken } = describePage(
      params,
      'SubnetId',
      cloud.subnets,
      (id) => notFound('subnet', id),
      (subnet) => ({
        fields: {
          'subnet-id': [subnet.id],
          'vpc-id': [subnet.vpcId],
          'availability-zone': [subnet.zone],
          'cidr-block': [subnet.cidrBlock],
          state: ['available'],
        },
        tags: subnet.tags,
      }),
    );
    return {
      subnetSet: page.map((subnet) => ({
        subnetId: subnet.id,
        subnetArn: `arn:aws:ec2:${cloud.region}:${cloud.accountId}:subnet/${subnet.id}`,
        vpcId: subnet.vpcId,
        ownerId: cloud.accountId,
        state: 'available',
        cidrBlock: subnet.cidrBlock,
        availableIpAddressCount: subnet.availableIpAddressCount,
        availabilityZone: subnet.zone,
        availabilityZoneId: `${cloud.region.slice(0, 3)}-az${subnet.zone.charCodeAt(subnet.zone.length - 1) - 96}`,
        defaultForAz: false,
        mapPublicIpOnLaunch: false,
        ipv6CidrBlockAssociationSet:
          subnet.ipv6Cidr === undefined
            ? []
            : [
                {
                  ipv6CidrBlock: subnet.ipv6Cidr,
                  associationId: `subnet-cidr-assoc-${subnet.id.slice(7)}`,
                  ipv6CidrBlockState: { state: 'associated' },
                },
              ],
        tagSet: tagSet(subnet.tags),
      })),
      nextToken,
    };
  },
};

export const describeSecurityGroups: Ec2Action = {
  name: 'DescribeSecurityGroups',
  latency: 'describe',
  throttle: describeClass('GroupId'),
  run(cloud, params) {
    const names = params.list('GroupName');
    const { page, nextToken } = describePage(
      params,
      'GroupId',
      cloud.securityGroups,
      (id) => notFound('group', id),
      (group) => ({
        fields: { 'group-id': [group.id], 'group-name': [group.name], 'vpc-id': [group.vpcId] },
        tags: group.tags,
      }),
      (groups) => (names.length === 0 ? groups : groups.filter((group) => names.includes(group.name))),
    );
    return {
      securityGroupInfo: page.map((group) => ({
        groupId: group.id,
        groupName: group.name,
        groupDescription: group.description,
        vpcId: group.vpcId,
        ownerId: cloud.accountId,
        ipPermissions: [],
        ipPermissionsEgress: [],
        tagSet: tagSet(group.tags),
      })),
      nextToken,
    };
  },
};
