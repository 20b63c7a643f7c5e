import type { Ec2Action } from './action.ts';
import { assignIpv6Addresses, assignPrivateIpAddresses, unassignPrivateIpAddresses } from './addresses.ts';
import { attachNetworkInterface, detachNetworkInterface } from './attachments.ts';
import { describeInstances, describeInstanceTypes, describeSecurityGroups, describeSubnets } from './describe.ts';
import {
  createNetworkInterface,
  deleteNetworkInterface,
  describeNetworkInterfaces,
  modifyNetworkInterfaceAttribute,
} from './network-interfaces.ts';
import { createTags, deleteTags } from './tags.ts';

/** Every EC2 action the simulator answers, by wire name. Anything else is `InvalidAction`. */
export const ec2Actions: ReadonlyMap<string, Ec2Action> = new Map(
  [
    describeNetworkInterfaces,
    createNetworkInterface,
    attachNetworkInterface,
    detachNetworkInterface,
    deleteNetworkInterface,
    modifyNetworkInterfaceAttribute,
    assignPrivateIpAddresses,
    unassignPrivateIpAddresses,
    assignIpv6Addresses,
    describeInstances,
    describeInstanceTypes,
    describeSubnets,
    describeSecurityGroups,
    createTags,
    deleteTags,
  ].map((action) => [action.name, action]),
);
