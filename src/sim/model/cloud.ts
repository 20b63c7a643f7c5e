import { instanceTypeLimits } from '../../data/instance-limits.ts';
import { ipv4CidrsOverlap, parseIpv4Network } from '../../lib/address.ts';
import { type InstanceLimits, ipv6Limit, prefixDelegationSupported } from '../../lib/instance-limits.ts';
import { Ec2Error, invalidParameter, notFound } from '../ec2/errors.ts';
import { type Eni, eniStatus, type Instance, ipv4SlotsUsed, type SecurityGroup } from './eni.ts';
import { IdSource } from './ids.ts';
import { Subnet, type SubnetSpec } from './subnet.ts';

export interface VpcSpec {
  /** The primary CIDR first, then secondary CIDRs (e.g. 100.64.0.0/16 for custom networking). */
  readonly cidrs: readonly string[];
  readonly ipv6Cidr?: string;
  readonly subnets: readonly SubnetSpec[];
  readonly securityGroups: readonly { readonly name: string; readonly description: string }[];
}

export interface CreateEniRequest {
  readonly subnetId: string;
  readonly description: string;
  readonly groups: readonly string[];
  readonly primaryAddress?: string;
  readonly secondaryCount: number;
  readonly prefixCount: number;
  readonly ipv6Count: number;
  readonly tags: ReadonlyMap<string, string>;
}

export interface AttachRequest {
  readonly eniId: string;
  readonly instanceId: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
}

/** What to add to an ENI: a count or an explicit list, of addresses or of /28 prefixes. */
export interface AddressRequest {
  readonly count?: number;
  readonly addresses?: readonly string[];
  readonly prefixCount?: number;
  readonly prefixes?: readonly string[];
}

/**
 * The single source of truth behind the EC2 API and IMDS: one VPC, its subnets and security groups, instances with
 * the limits of their type, and ENIs. Every mutation validates first and changes nothing when it throws, so a
 * refused request never leaves half an ENI or a leaked address behind. Listeners hear about every change (IMDS
 * republishes its tree from them).
 */
export class Cloud {
  readonly region: string;
  readonly accountId: string;
  readonly vpcId: string;
  #vpcCidrs: readonly string[];
  readonly vpcIpv6Cidr: string | undefined;
  readonly subnets = new Map<string, Subnet>();
  readonly securityGroups = new Map<string, SecurityGroup>();
  readonly instances = new Map<string, Instance>();
  readonly enis = new Map<string, Eni>();
  readonly #ids = new IdSource();
  readonly #listeners = new Set<() => void>();

  get vpcCidrs(): readonly string[] {
    return this.#vpcCidrs;
  }

  /** AssociateVpcCidrBlock: a secondary IPv4 CIDR joins the VPC (IMDS lists it under every ENI's vpc-ipv4-cidr-blocks). */
  associateVpcCidr(text: string): void {
    const cidr = parseIpv4Network(text) ?? fail(`The CIDR '${text}' is invalid.`);
    for (const other of this.#vpcCidrs) {
      if (ipv4CidrsOverlap(parseIpv4Network(other)!, cidr)) fail(`The CIDR '${text}' overlaps the VPC CIDR ${other}.`);
    }
    this.#vpcCidrs = [...this.#vpcCidrs, text];
    this.#changed();
  }

  constructor(region: string, accountId: string, vpc: VpcSpec) {
    this.region = region;
    this.accountId = accountId;
    this.vpcId = this.#ids.next('vpc');
    const cidrs = vpc.cidrs.map((text) => parseIpv4Network(text) ?? fail(`The VPC CIDR '${text}' is invalid.`));
    this.#vpcCidrs = vpc.cidrs;
    this.vpcIpv6Cidr = vpc.ipv6Cidr;
    for (const spec of vpc.subnets) {
      const subnet = new Subnet(this.#ids.next('subnet'), this.vpcId, spec);
      if (!cidrs.some((cidr) => cidr.bits <= subnet.cidr.bits && ipv4CidrsOverlap(cidr, subnet.cidr))) {
        fail(`The subnet CIDR ${subnet.cidrBlock} is not inside the VPC CIDRs ${vpc.cidrs.join(', ')}.`);
      }
      for (const other of this.subnets.values()) {
        if (ipv4CidrsOverlap(other.cidr, subnet.cidr))
          fail(`The subnet CIDR ${subnet.cidrBlock} overlaps ${other.cidrBlock}.`);
      }
      this.subnets.set(subnet.id, subnet);
    }
    for (const group of vpc.securityGroups) {
      const id = this.#ids.next('sg');
      this.securityGroups.set(id, { id, vpcId: this.vpcId, tags: new Map(), ...group });
    }
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  subnet(id: string): Subnet {
    return this.subnets.get(id) ?? throwError(notFound('subnet', id));
  }

  eni(id: string): Eni {
    return this.enis.get(id) ?? throwError(notFound('networkInterface', id));
  }

  instance(id: string): Instance {
    return this.instances.get(id) ?? throwError(notFound('instance', id));
  }

  limitsOf(instance: Instance): InstanceLimits {
    return instanceTypeLimits(instance.type)!;
  }

  /** Starts an instance in a subnet with its primary ENI at device index 0, as EC2's RunInstances would. */
  launchInstance(type: string, subnetId: string, groups: readonly string[]): Instance {
    const limits = instanceTypeLimits(type) ?? throwError(notFound('instanceType', type));
    const subnet = this.subnet(subnetId);
    const eni = this.createEni(
      {
        subnetId,
        description: 'Primary network interface',
        groups,
        secondaryCount: 0,
        prefixCount: 0,
        ipv6Count: 0,
        tags: new Map(),
      },
      limits,
    );
    const id = this.#ids.next('i');
    const instance: Instance = {
      id,
      type,
      zone: subnet.zone,
      subnetId,
      imageId: 'ami-0sim00000000000001',
      launchTime: new Date(),
      primaryEniId: eni.id,
    };
    this.instances.set(id, instance);
    eni.attachment = {
      id: this.#ids.next('eni-attach'),
      instanceId: id,
      deviceIndex: 0,
      networkCardIndex: limits.defaultNetworkCardIndex,
      deleteOnTermination: true,
      attachTime: instance.launchTime,
    };
    this.#changed();
    return instance;
  }

  /**
   * Creates an unattached ENI. EC2 checks the address count against a per-interface limit; the simulator uses the
   * node's instance type, so a request that could never attach fails at creation.
   */
  createEni(request: CreateEniRequest, limits = this.#nodeLimits()): Eni {
    const subnet = this.subnet(request.subnetId);
    for (const group of request.groups) if (!this.securityGroups.has(group)) throw notFound('group', group);
    if (request.prefixCount > 0 && !prefixDelegationSupported(limits)) throw prefixesUnsupported();
    const slots = 1 + request.secondaryCount + request.prefixCount;
    if (slots > limits.ipv4Limit) throw addressLimit(slots, limits.ipv4Limit);
    if (request.ipv6Count > ipv6Limit(limits)) throw ipv6AddressLimit(request.ipv6Count, ipv6Limit(limits));
    const taken = new Rollback(subnet);
    try {
      const primary = request.primaryAddress ?? subnet.allocateAddress();
      if (request.primaryAddress !== undefined) subnet.claimAddress(primary);
      taken.addresses.push(primary);
      for (let i = 0; i < request.secondaryCount; i++) taken.addresses.push(subnet.allocateAddress());
      for (let i = 0; i < request.prefixCount; i++) taken.prefixes.push(subnet.allocatePrefix());
      const ipv6 = Array.from({ length: request.ipv6Count }, () => subnet.allocateIpv6());
      const eni: Eni = {
        id: this.#ids.next('eni'),
        subnetId: subnet.id,
        vpcId: this.vpcId,
        zone: subnet.zone,
        mac: this.#ids.mac(),
        ownerId: this.accountId,
        description: request.description,
        sourceDestCheck: true,
        // Like EC2, an ENI created without groups gets the VPC's default (here: the first) security group.
        groups: request.groups.length > 0 ? [...request.groups] : [...this.securityGroups.keys()].slice(0, 1),
        tags: new Map(request.tags),
        privateIps: taken.addresses.map((address, i) => ({ address, primary: i === 0 })),
        prefixes: [...taken.prefixes],
        ipv6,
        attachment: undefined,
      };
      this.enis.set(eni.id, eni);
      this.#changed();
      return eni;
    } catch (error) {
      taken.undo();
      throw error;
    }
  }

  deleteEni(id: string): void {
    const eni = this.eni(id);
    if (eni.attachment !== undefined) {
      throw new Ec2Error('InvalidNetworkInterface.InUse', `The network interface '${id}' is currently in use.`);
    }
    const subnet = this.subnet(eni.subnetId);
    for (const ip of eni.privateIps) subnet.releaseAddress(ip.address);
    for (const prefix of eni.prefixes) subnet.releasePrefix(prefix);
    this.enis.delete(id);
    this.#changed();
  }

  attachEni(request: AttachRequest): string {
    const eni = this.eni(request.eniId);
    const instance = this.instance(request.instanceId);
    const limits = this.limitsOf(instance);
    if (eni.attachment !== undefined) {
      throw new Ec2Error('InvalidNetworkInterface.InUse', `Interface: [${eni.id}] in use.`);
    }
    if (eni.zone !== instance.zone) {
      throw invalidParameter(
        `The network interface ${eni.id} (${eni.zone}) and instance ${instance.id} (${instance.zone}) must be in the same availability zone.`,
      );
    }
    const card = limits.networkCards.find((c) => c.networkCardIndex === request.networkCardIndex);
    if (card === undefined) {
      throw invalidParameter(
        `Network card index ${request.networkCardIndex} is not valid for instance type ${instance.type}.`,
      );
    }
    const attached = this.attachedTo(instance.id);
    const onCard = attached.filter((e) => e.attachment!.networkCardIndex === request.networkCardIndex);
    if (onCard.some((e) => e.attachment!.deviceIndex === request.deviceIndex)) {
      throw invalidParameter(
        `Instance '${instance.id}' already has an interface attached at device index '${request.deviceIndex}'.`,
      );
    }
    if (attached.length >= limits.eniLimit || onCard.length >= card.maximumNetworkInterfaces) {
      throw new Ec2Error(
        'AttachmentLimitExceeded',
        `Interface count ${attached.length + 1} exceeds the limit for ${instance.type} ` +
          `(${limits.eniLimit} per instance, ${card.maximumNetworkInterfaces} on network card ${card.networkCardIndex}).`,
      );
    }
    if (ipv4SlotsUsed(eni) > limits.ipv4Limit) throw addressLimit(ipv4SlotsUsed(eni), limits.ipv4Limit);
    const id = this.#ids.next('eni-attach');
    eni.attachment = { id, ...request, instanceId: instance.id, deleteOnTermination: false, attachTime: new Date() };
    this.#changed();
    return id;
  }

  detachEni(attachmentId: string): void {
    const eni = this.eniByAttachment(attachmentId);
    if (eni.attachment!.deviceIndex === 0) {
      throw new Ec2Error('OperationNotPermitted', `The network interface at device index 0 cannot be detached.`);
    }
    eni.attachment = undefined;
    this.#changed();
  }

  eniByAttachment(attachmentId: string): Eni {
    for (const eni of this.enis.values()) if (eni.attachment?.id === attachmentId) return eni;
    throw notFound('attachment', attachmentId);
  }

  attachedTo(instanceId: string): Eni[] {
    return [...this.enis.values()].filter((eni) => eni.attachment?.instanceId === instanceId);
  }

  /** ENIs that exist but belong to no instance: after a test's cleanup this must be empty, or something leaked. */
  unattachedEnis(): Eni[] {
    return [...this.enis.values()].filter((eni) => eniStatus(eni) === 'available');
  }

  modifyEni(
    id: string,
    change: {
      groups?: readonly string[];
      description?: string;
      sourceDestCheck?: boolean;
      deleteOnTermination?: { attachmentId: string; value: boolean };
    },
  ): void {
    const eni = this.eni(id);
    for (const group of change.groups ?? []) if (!this.securityGroups.has(group)) throw notFound('group', group);
    if (change.deleteOnTermination !== undefined && eni.attachment?.id !== change.deleteOnTermination.attachmentId) {
      throw notFound('attachment', change.deleteOnTermination.attachmentId);
    }
    if (change.groups !== undefined) eni.groups = [...change.groups];
    if (change.description !== undefined) eni.description = change.description;
    if (change.sourceDestCheck !== undefined) eni.sourceDestCheck = change.sourceDestCheck;
    if (change.deleteOnTermination !== undefined)
      eni.attachment!.deleteOnTermination = change.deleteOnTermination.value;
    this.#changed();
  }

  /** Adds secondary addresses or prefixes, all or nothing. */
  assignPrivateIps(id: string, request: AddressRequest): { addresses: string[]; prefixes: string[] } {
    const eni = this.eni(id);
    const limits = this.#eniLimits(eni);
    const subnet = this.subnet(eni.subnetId);
    const wantPrefixes = (request.prefixCount ?? 0) + (request.prefixes?.length ?? 0);
    if (wantPrefixes > 0 && !prefixDelegationSupported(limits)) throw prefixesUnsupported();
    const slots = ipv4SlotsUsed(eni) + (request.count ?? 0) + (request.addresses?.length ?? 0) + wantPrefixes;
    if (slots > limits.ipv4Limit) throw addressLimit(slots, limits.ipv4Limit);
    const taken = new Rollback(subnet);
    try {
      for (const address of request.addresses ?? []) {
        subnet.claimAddress(address);
        taken.addresses.push(address);
      }
      for (let i = 0; i < (request.count ?? 0); i++) taken.addresses.push(subnet.allocateAddress());
      for (const prefix of request.prefixes ?? []) {
        subnet.claimPrefix(prefix);
        taken.prefixes.push(prefix);
      }
      for (let i = 0; i < (request.prefixCount ?? 0); i++) taken.prefixes.push(subnet.allocatePrefix());
    } catch (error) {
      taken.undo();
      throw error;
    }
    eni.privateIps.push(...taken.addresses.map((address) => ({ address, primary: false })));
    eni.prefixes.push(...taken.prefixes);
    this.#changed();
    return { addresses: taken.addresses, prefixes: taken.prefixes };
  }

  /** Removes secondary addresses and prefixes; every one must be on the ENI, and the primary cannot go. */
  unassignPrivateIps(id: string, addresses: readonly string[], prefixes: readonly string[]): void {
    const eni = this.eni(id);
    for (const address of addresses) {
      const ip = eni.privateIps.find((candidate) => candidate.address === address);
      if (ip === undefined)
        throw invalidParameter(`Some of the specified addresses are not assigned to interface ${id}: ${address}`);
      if (ip.primary) throw invalidParameter(`The primary address ${address} of ${id} cannot be unassigned.`);
    }
    for (const prefix of prefixes) {
      if (!eni.prefixes.includes(prefix))
        throw invalidParameter(`The prefix ${prefix} is not assigned to interface ${id}.`);
    }
    const subnet = this.subnet(eni.subnetId);
    for (const address of addresses) subnet.releaseAddress(address);
    for (const prefix of prefixes) subnet.releasePrefix(prefix);
    eni.privateIps = eni.privateIps.filter((ip) => !addresses.includes(ip.address));
    eni.prefixes = eni.prefixes.filter((prefix) => !prefixes.includes(prefix));
    this.#changed();
  }

  assignIpv6(id: string, count: number): string[] {
    const eni = this.eni(id);
    const limit = ipv6Limit(this.#eniLimits(eni));
    if (eni.ipv6.length + count > limit) throw ipv6AddressLimit(eni.ipv6.length + count, limit);
    const subnet = this.subnet(eni.subnetId);
    const added = Array.from({ length: count }, () => subnet.allocateIpv6());
    eni.ipv6.push(...added);
    this.#changed();
    return added;
  }

  /** The tag map of any taggable resource id (ENI, subnet, security group). */
  tagsOf(resourceId: string): Map<string, string> {
    if (resourceId.startsWith('eni-')) return this.eni(resourceId).tags;
    if (resourceId.startsWith('subnet-')) return this.subnet(resourceId).tags;
    if (resourceId.startsWith('sg-'))
      return this.securityGroups.get(resourceId)?.tags ?? throwError(notFound('group', resourceId));
    throw invalidParameter(`Invalid id: "${resourceId}" (expecting an eni-, subnet- or sg- id)`);
  }

  /** Applies a tag change to every resource or to none (all ids are resolved before anything changes). */
  changeTags(resourceIds: readonly string[], change: (tags: Map<string, string>) => void): void {
    const maps = resourceIds.map((id) => this.tagsOf(id));
    for (const tags of maps) change(tags);
    this.#changed();
  }

  /** Attached ENIs are limited by their instance's type, unattached ones by the node's. */
  #eniLimits(eni: Eni): InstanceLimits {
    return eni.attachment === undefined ? this.#nodeLimits() : this.limitsOf(this.instance(eni.attachment.instanceId));
  }

  #nodeLimits(): InstanceLimits {
    const node = [...this.instances.values()][0];
    return node === undefined
      ? throwError(invalidParameter('No instance to size the interface against.'))
      : this.limitsOf(node);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** Addresses taken from a subnet during one request, given back if the request fails halfway. */
class Rollback {
  readonly addresses: string[] = [];
  readonly prefixes: string[] = [];
  readonly #subnet: Subnet;

  constructor(subnet: Subnet) {
    this.#subnet = subnet;
  }

  undo(): void {
    for (const address of this.addresses) this.#subnet.releaseAddress(address);
    for (const prefix of this.prefixes) this.#subnet.releasePrefix(prefix);
  }
}

function addressLimit(requested: number, limit: number): Ec2Error {
  return new Ec2Error(
    'PrivateIpAddressLimitExceeded',
    `Number of private addresses (${requested}, counting each /28 prefix as one) will exceed limit of ${limit} for this interface.`,
  );
}

function ipv6AddressLimit(requested: number, limit: number): Ec2Error {
  return new Ec2Error(
    'Ipv6AddressLimitExceeded',
    `Number of IPv6 addresses (${requested}) will exceed limit of ${limit}.`,
  );
}

function prefixesUnsupported(): Ec2Error {
  return invalidParameter('IPv4 prefix delegation is only supported on Nitro-based instance types.');
}

function throwError(error: Error): never {
  throw error;
}

function fail(message: string): never {
  throw new Error(`simulated VPC: ${message}`);
}
