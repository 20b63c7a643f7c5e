import { invalidParameter, missingParameter } from '../errors.ts';
import { invalidCombination } from '../query.ts';
import { type Ec2Action, mutating } from './action.ts';

/** A request either names addresses or counts them, and either addresses or prefixes: EC2 refuses mixtures. */
export const assignPrivateIpAddresses: Ec2Action = {
  name: 'AssignPrivateIpAddresses',
  latency: 'assign',
  throttle: mutating,
  run(cloud, params) {
    const id = params.required('NetworkInterfaceId');
    const request = {
      count: params.int('SecondaryPrivateIpAddressCount', 1),
      addresses: params.list('PrivateIpAddress'),
      prefixCount: params.int('Ipv4PrefixCount', 1),
      prefixes: params.list('Ipv4Prefix'),
    };
    const kinds = [
      request.count !== undefined,
      request.addresses.length > 0,
      request.prefixCount !== undefined,
      request.prefixes.length > 0,
    ].filter(Boolean).length;
    if (kinds === 0) {
      throw missingParameter('SecondaryPrivateIpAddressCount, PrivateIpAddress, Ipv4PrefixCount or Ipv4Prefix');
    }
    if (kinds > 1) {
      throw invalidCombination(
        'Specify only one of SecondaryPrivateIpAddressCount, PrivateIpAddress, Ipv4PrefixCount, Ipv4Prefix.',
      );
    }
    const assigned = cloud.assignPrivateIps(id, request);
    return {
      networkInterfaceId: id,
      assignedPrivateIpAddressesSet: assigned.addresses.map((address) => ({ privateIpAddress: address })),
      assignedIpv4PrefixSet: assigned.prefixes.map((prefix) => ({ ipv4Prefix: prefix })),
    };
  },
};

export const unassignPrivateIpAddresses: Ec2Action = {
  name: 'UnassignPrivateIpAddresses',
  latency: 'assign',
  throttle: mutating,
  run(cloud, params) {
    const id = params.required('NetworkInterfaceId');
    const addresses = params.list('PrivateIpAddress');
    const prefixes = params.list('Ipv4Prefix');
    if (addresses.length === 0 && prefixes.length === 0) throw missingParameter('PrivateIpAddress or Ipv4Prefix');
    if (addresses.length > 0 && prefixes.length > 0) {
      throw invalidCombination('PrivateIpAddress and Ipv4Prefix cannot be used together.');
    }
    cloud.unassignPrivateIps(id, addresses, prefixes);
    return { return: true };
  },
};

export const assignIpv6Addresses: Ec2Action = {
  name: 'AssignIpv6Addresses',
  latency: 'assign',
  throttle: mutating,
  run(cloud, params) {
    const id = params.required('NetworkInterfaceId');
    if (params.has('Ipv6Addresses') || params.has('Ipv6Prefix') || params.has('Ipv6PrefixCount')) {
      throw invalidParameter('The simulator assigns IPv6 addresses by Ipv6AddressCount only.');
    }
    const count = params.int('Ipv6AddressCount', 1);
    if (count === undefined) throw missingParameter('Ipv6AddressCount');
    const added = cloud.assignIpv6(id, count);
    return { networkInterfaceId: id, assignedIpv6Addresses: added, assignedIpv6PrefixSet: [] };
  },
};
