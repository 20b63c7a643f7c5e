import type { Cloud } from '../model/cloud.ts';
import type { Eni } from '../model/eni.ts';
import { eniStatus } from '../model/eni.ts';
import type { XmlValue } from './xml.ts';

/** Model records as EC2 XML fields (names as the SDK's schema expects them on the wire). */

export function tagSet(tags: ReadonlyMap<string, string>): XmlValue {
  return [...tags].map(([key, value]) => ({ key, value }));
}

export function renderEni(cloud: Cloud, eni: Eni): XmlValue {
  const attachment = eni.attachment;
  return {
    networkInterfaceId: eni.id,
    subnetId: eni.subnetId,
    vpcId: eni.vpcId,
    availabilityZone: eni.zone,
    description: eni.description,
    ownerId: eni.ownerId,
    requesterManaged: false,
    status: eniStatus(eni),
    macAddress: eni.mac,
    privateIpAddress: eni.privateIps[0]?.address,
    privateDnsName: eni.privateIps[0] && privateDnsName(cloud.region, eni.privateIps[0].address),
    sourceDestCheck: eni.sourceDestCheck,
    interfaceType: 'interface',
    groupSet: eni.groups.map((id) => ({ groupId: id, groupName: cloud.securityGroups.get(id)?.name })),
    attachment: attachment && {
      attachmentId: attachment.id,
      instanceId: attachment.instanceId,
      instanceOwnerId: eni.ownerId,
      deviceIndex: attachment.deviceIndex,
      networkCardIndex: attachment.networkCardIndex,
      status: 'attached',
      attachTime: attachment.attachTime,
      deleteOnTermination: attachment.deleteOnTermination,
    },
    tagSet: tagSet(eni.tags),
    privateIpAddressesSet: eni.privateIps.map((ip) => ({
      privateIpAddress: ip.address,
      privateDnsName: privateDnsName(cloud.region, ip.address),
      primary: ip.primary,
    })),
    ipv4PrefixSet: eni.prefixes.map((prefix) => ({ ipv4Prefix: prefix })),
    ipv6AddressesSet: eni.ipv6.map((address) => ({ ipv6Address: address, isPrimaryIpv6: false })),
    ipv6PrefixSet: [],
  };
}

export function privateDnsName(region: string, address: string): string {
  return `ip-${address.replaceAll('.', '-')}.${region}.compute.internal`;
}
