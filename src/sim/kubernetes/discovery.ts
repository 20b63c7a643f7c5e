import { apiVersionOf, ENICONFIG_GROUP, RESOURCES, type ResourceType } from './resources.ts';

/** The discovery documents kubectl and client-node read before anything else. */

export const VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-vpc-cni-sim',
  platform: 'linux/amd64',
  goVersion: 'none',
};

export function apiVersions(host: string) {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: host }],
  };
}

function groupVersion(version: string) {
  return { groupVersion: `${ENICONFIG_GROUP}/${version}`, version };
}

export function apiGroup() {
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: ENICONFIG_GROUP,
    versions: [groupVersion('v1alpha1')],
    preferredVersion: groupVersion('v1alpha1'),
  };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [apiGroup()] };
}

/** The resource list of one group/version, or undefined if the simulator serves none there. */
export function apiResourceList(group: string, version: string) {
  const types = RESOURCES.filter((type) => type.group === group && type.version === version);
  if (types.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: apiVersionOf(types[0]!),
    resources: types.map((type: ResourceType) => ({
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.verbs,
      ...(type.shortNames ? { shortNames: type.shortNames } : {}),
    })),
  };
}
