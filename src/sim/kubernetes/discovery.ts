import { apiGroups, apiVersionOf, RESOURCES, type ResourceType } from './resources.ts';

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

function groupVersion(group: string, version: string) {
  return { groupVersion: `${group}/${version}`, version };
}

/** One API group's document, or undefined if the simulator serves no such group. */
export function apiGroup(name: string) {
  const versions = apiGroups().get(name);
  if (versions === undefined) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: versions.map((version) => groupVersion(name, version)),
    preferredVersion: groupVersion(name, versions[0]!),
  };
}

export function apiGroupList() {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...apiGroups().keys()].map((name) => apiGroup(name)) };
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
