import type { Cloud } from '../../model/cloud.ts';
import type { Eni } from '../../model/eni.ts';
import { eniStatus } from '../../model/eni.ts';
import { invalidParameter, notFound } from '../errors.ts';
import { describePage } from '../filters.ts';
import { invalidCombination, type QueryParams } from '../query.ts';
import { renderEni } from '../render.ts';
import { describeClass, type Ec2Action, mutating } from './action.ts';

export const describeNetworkInterfaces: Ec2Action = {
  name: 'DescribeNetworkInterfaces',
  latency: 'describe',
  throttle: describeClass('NetworkInterfaceId'),
  run(cloud, params) {
    const { page, nextToken } = describePage(
      params,
      'NetworkInterfaceId',
      cloud.enis,
      (id) => notFound('networkInterface', id),
      (eni) => ({ fields: eniFields(eni), tags: eni.tags }),
    );
    return { networkInterfaceSet: page.map((eni) => renderEni(cloud, eni)), nextToken };
  },
};

function eniFields(eni: Eni) {
  const attachment = eni.attachment;
  return {
    'network-interface-id': [eni.id],
    'subnet-id': [eni.subnetId],
    'vpc-id': [eni.vpcId],
    'availability-zone': [eni.zone],
    status: [eniStatus(eni)],
    description: [eni.description],
    'mac-address': [eni.mac],
    'owner-id': [eni.ownerId],
    'group-id': eni.groups,
    'interface-type': ['interface'],
    'private-ip-address': eni.privateIps.map((ip) => ip.address),
    'addresses.private-ip-address': eni.privateIps.map((ip) => ip.address),
    'ipv6-addresses.ipv6-address': eni.ipv6,
    'attachment.instance-id': [attachment?.instanceId],
    'attachment.attachment-id': [attachment?.id],
    'attachment.device-index': [attachment && String(attachment.deviceIndex)],
    'attachment.status': [attachment && 'attached'],
    'attachment.delete-on-termination': [attachment && String(attachment.deleteOnTermination)],
  };
}

export const createNetworkInterface: Ec2Action = {
  name: 'CreateNetworkInterface',
  latency: 'create',
  throttle: mutating,
  run(cloud, params) {
    const secondaryCount = params.int('SecondaryPrivateIpAddressCount', 1) ?? 0;
    const prefixCount = params.int('Ipv4PrefixCount', 1) ?? 0;
    if (secondaryCount > 0 && prefixCount > 0) {
      throw invalidCombination('SecondaryPrivateIpAddressCount and Ipv4PrefixCount cannot be used together.');
    }
    const eni = cloud.createEni({
      subnetId: params.required('SubnetId'),
      description: params.string('Description') ?? '',
      groups: params.list('SecurityGroupId'),
      primaryAddress: primaryAddress(params),
      secondaryCount,
      prefixCount,
      ipv6Count: params.int('Ipv6AddressCount', 1) ?? 0,
      tags: specificationTags(params, 'network-interface'),
    });
    return { networkInterface: renderEni(cloud, eni) };
  },
};

function primaryAddress(params: QueryParams): string | undefined {
  const listed = params.structs('PrivateIpAddresses');
  if (listed.length > 1 || listed.some((entry) => entry.bool('Primary') === false)) {
    throw invalidParameter('Only the primary address can be given in PrivateIpAddresses; use a count for secondaries.');
  }
  return params.string('PrivateIpAddress') ?? listed[0]?.required('PrivateIpAddress');
}

/** Tags from `TagSpecification.N`; a specification for another resource type is refused as EC2 refuses it. */
export function specificationTags(params: QueryParams, resourceType: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of params.structs('TagSpecification')) {
    const type = spec.required('ResourceType');
    if (type !== resourceType)
      throw invalidParameter(`'${type}' is not a valid taggable resource type for this operation.`);
    for (const [key, value] of spec.tags()) tags.set(key, value);
  }
  return tags;
}

export const deleteNetworkInterface: Ec2Action = {
  name: 'DeleteNetworkInterface',
  latency: 'delete',
  throttle: mutating,
  run(cloud, params) {
    cloud.deleteEni(params.required('NetworkInterfaceId'));
    return { return: true };
  },
};

export const modifyNetworkInterfaceAttribute: Ec2Action = {
  name: 'ModifyNetworkInterfaceAttribute',
  latency: 'modify',
  throttle: mutating,
  run(cloud: Cloud, params) {
    const id = params.required('NetworkInterfaceId');
    const groups = params.list('SecurityGroupId');
    const attachmentId = params.string('Attachment.AttachmentId');
    const deleteOnTermination = params.bool('Attachment.DeleteOnTermination');
    const change = {
      groups: groups.length > 0 ? groups : undefined,
      description: params.string('Description.Value'),
      sourceDestCheck: params.bool('SourceDestCheck.Value'),
      deleteOnTermination:
        attachmentId === undefined ? undefined : { attachmentId, value: deleteOnTermination ?? false },
    };
    const given = Object.values(change).filter((value) => value !== undefined).length;
    if (given !== 1) {
      throw invalidCombination(
        'Exactly one attribute (Attachment, Description, SecurityGroupId, SourceDestCheck) must be given.',
      );
    }
    if (attachmentId !== undefined && deleteOnTermination === undefined) {
      throw invalidParameter('Attachment.DeleteOnTermination is required with Attachment.AttachmentId.');
    }
    cloud.modifyEni(id, change);
    return { return: true };
  },
};
