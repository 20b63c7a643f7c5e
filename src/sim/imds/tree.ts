import { privateDnsName } from '../ec2/render.ts';
import type { Cloud } from '../model/cloud.ts';
import type { Eni } from '../model/eni.ts';

/** Leaf paths under `/latest/` (e.g. `meta-data/mac`) to their text, for one instance. */
export type MetadataTree = ReadonlyMap<string, string>;

/**
 * Renders what IMDS shows an instance: its own keys, and one directory per attached ENI under
 * `network/interfaces/macs/<mac>/`. Keys without a value are absent (so they answer 404), as on a real node:
 * no `ipv4-prefix` before a prefix is delegated, no `ipv6s` without IPv6 addresses.
 */
export function metadataTree(cloud: Cloud, instanceId: string): MetadataTree {
  const instance = cloud.instance(instanceId);
  const primary = cloud.eni(instance.primaryEniId);
  const address = primary.privateIps[0]!.address;
  const tree = new Map<string, string>();
  const put = (path: string, value: string | undefined) => {
    if (value !== undefined && value !== '') tree.set(`meta-data/${path}`, value);
  };
  put('ami-id', instance.imageId);
  put('hostname', privateDnsName(cloud.region, address));
  put('instance-id', instance.id);
  put('instance-type', instance.type);
  put('local-hostname', privateDnsName(cloud.region, address));
  put('local-ipv4', address);
  put('ipv6', primary.ipv6[0]);
  put('mac', primary.mac);
  put('placement/availability-zone', instance.zone);
  put('placement/region', cloud.region);
  put('security-groups', groupNames(cloud, primary));
  put('services/domain', 'amazonaws.com');
  const enis = cloud
    .attachedTo(instance.id)
    .sort(
      (a, b) =>
        a.attachment!.networkCardIndex - b.attachment!.networkCardIndex ||
        a.attachment!.deviceIndex - b.attachment!.deviceIndex,
    );
  for (const eni of enis) {
    for (const [key, value] of interfaceKeys(cloud, eni)) put(`network/interfaces/macs/${eni.mac}/${key}`, value);
  }
  tree.set(
    'dynamic/instance-identity/document',
    JSON.stringify(
      {
        accountId: cloud.accountId,
        architecture: 'x86_64',
        availabilityZone: instance.zone,
        imageId: instance.imageId,
        instanceId: instance.id,
        instanceType: instance.type,
        pendingTime: instance.launchTime.toISOString(),
        privateIp: address,
        region: cloud.region,
        version: '2017-09-30',
      },
      null,
      2,
    ),
  );
  return tree;
}

function interfaceKeys(cloud: Cloud, eni: Eni): [string, string | undefined][] {
  const subnet = cloud.subnet(eni.subnetId);
  return [
    ['device-number', String(eni.attachment!.deviceIndex)],
    ['network-card', String(eni.attachment!.networkCardIndex)],
    ['interface-id', eni.id],
    ['ipv4-prefix', eni.prefixes.join('\n')],
    ['ipv6s', eni.ipv6.join('\n')],
    ['local-hostname', privateDnsName(cloud.region, eni.privateIps[0]!.address)],
    ['local-ipv4s', eni.privateIps.map((ip) => ip.address).join('\n')],
    ['mac', eni.mac],
    ['owner-id', eni.ownerId],
    ['security-group-ids', eni.groups.join('\n')],
    ['security-groups', groupNames(cloud, eni)],
    ['subnet-id', subnet.id],
    ['subnet-ipv4-cidr-block', subnet.cidrBlock],
    ['subnet-ipv6-cidr-blocks', subnet.ipv6Cidr],
    ['vpc-id', cloud.vpcId],
    ['vpc-ipv4-cidr-block', cloud.vpcCidrs[0]],
    ['vpc-ipv4-cidr-blocks', cloud.vpcCidrs.join('\n')],
    ['vpc-ipv6-cidr-blocks', cloud.vpcIpv6Cidr],
  ];
}

function groupNames(cloud: Cloud, eni: Eni): string {
  return eni.groups.map((id) => cloud.securityGroups.get(id)?.name ?? id).join('\n');
}

/**
 * What a GET of `path` (relative to `/latest/`, no leading or trailing slash) answers: a leaf's text, a directory
 * listing (one child per line, subdirectories with a trailing `/`), or undefined for 404.
 */
export function lookup(tree: MetadataTree, path: string): string | undefined {
  const leaf = tree.get(path);
  if (leaf !== undefined) return leaf;
  const prefix = path === '' ? '' : `${path}/`;
  const children = new Set<string>();
  for (const key of tree.keys()) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    children.add(slash < 0 ? rest : `${rest.slice(0, slash)}/`);
  }
  return children.size === 0 ? undefined : [...children].join('\n');
}
