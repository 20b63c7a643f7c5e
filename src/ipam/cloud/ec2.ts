/**
 * The EC2 side of the pool, as prepare/execute pairs (Cilium's NodeOperations): `prepareEni` turns a policy action
 * into an `EniPlan` value (subnet order, security groups, tags, device index) that can be logged and tested;
 * `createEni(plan)` carries it out. No path leaks an ENI: a failed attach deletes the new ENI, and a delete that
 * fails is remembered and retried by `retryPendingDeletes` (plus the leaked-ENI sweep by tag, status and age).
 */
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkInterface,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import type { Ec2Api } from './client.ts';
import { CloudError, classify } from './errors.ts';
import { rankSubnets, type SubnetInfo } from './subnets.ts';

export const DESCRIPTION_PREFIX = 'aws-K8S-';
export const TAG_INSTANCE = 'node.k8s.amazonaws.com/instance_id';
export const TAG_CREATED_AT = 'node.k8s.amazonaws.com/createdAt';
export const TAG_CLUSTER = 'cluster.k8s.amazonaws.com/name';
/** The reference sweeps an available ENI only once it is this old, so a create→attach in flight is never taken. */
export const LEAK_MIN_AGE_MS = 5 * 60_000;

/** What the node knows about itself (IMDS + config), fixed for the agent's life. */
export interface NodeContext {
  readonly instanceId: string;
  readonly vpcId: string;
  readonly zone: string;
  readonly primarySubnetId: string;
  readonly clusterName: string;
  /** ADDITIONAL_ENI_TAGS, keys containing `k8s.amazonaws.com` already rejected by config validation. */
  readonly additionalTags: Readonly<Record<string, string>>;
  readonly subnetDiscovery: boolean;
  /** Custom networking: the node's ENIConfig (subnet, security groups) replaces discovery and the primary's SGs. */
  readonly eniConfig?: { readonly name: string; readonly subnet: string; readonly securityGroups: readonly string[] };
}

/** An ENI attached to this instance, as EC2 (authoritative) reports it. */
export interface EniObservation {
  readonly id: string;
  readonly deviceNumber: number;
  readonly attachmentId: string;
  readonly mac: string;
  readonly subnetId: string;
  readonly primaryIp: string;
  readonly secondaryIps: readonly string[];
  readonly prefixes: readonly string[];
  readonly securityGroups: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

export interface EniPlan {
  readonly subnetIds: readonly string[];
  readonly securityGroups: readonly string[];
  readonly deviceIndex: number;
  readonly count: number;
  readonly prefix: boolean;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
}

function tagsOf(eni: NetworkInterface): Record<string, string> {
  return Object.fromEntries((eni.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

function observe(eni: NetworkInterface): EniObservation {
  const ips = eni.PrivateIpAddresses ?? [];
  return {
    id: eni.NetworkInterfaceId ?? '',
    deviceNumber: eni.Attachment?.DeviceIndex ?? -1,
    attachmentId: eni.Attachment?.AttachmentId ?? '',
    mac: eni.MacAddress ?? '',
    subnetId: eni.SubnetId ?? '',
    primaryIp: ips.find((ip) => ip.Primary)?.PrivateIpAddress ?? eni.PrivateIpAddress ?? '',
    secondaryIps: ips.filter((ip) => !ip.Primary).map((ip) => ip.PrivateIpAddress ?? ''),
    prefixes: (eni.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix ?? ''),
    securityGroups: (eni.Groups ?? []).map((g) => g.GroupId ?? '').sort(),
    tags: tagsOf(eni),
  };
}

export class Ec2Allocator {
  readonly #api: Ec2Api;
  readonly #node: NodeContext;
  /** ENIs detached (or never attached) whose delete failed: retried until EC2 confirms they are gone. */
  readonly pendingDeletes = new Set<string>();

  /** The ENIConfig secondary ENIs are created from (custom networking), as read at start. */
  get eniConfig(): NodeContext['eniConfig'] {
    return this.#node.eniConfig;
  }

  constructor(api: Ec2Api, node: NodeContext) {
    this.#api = api;
    this.#node = node;
  }

  /** Every ENI attached to this instance, by device number. */
  async describeNode(): Promise<EniObservation[]> {
    const out = await this.#api.send(
      new DescribeNetworkInterfacesCommand({
        Filters: [{ Name: 'attachment.instance-id', Values: [this.#node.instanceId] }],
      }),
    );
    return (out.NetworkInterfaces ?? []).map(observe).sort((a, b) => a.deviceNumber - b.deviceNumber);
  }

  /** Subnets a new ENI may go to, best first (ENIConfig's subnet with custom networking). */
  async candidateSubnets(): Promise<SubnetInfo[]> {
    if (this.#node.eniConfig !== undefined) return [{ id: this.#node.eniConfig.subnet, free: -1, tags: {} }];
    if (!this.#node.subnetDiscovery) return [{ id: this.#node.primarySubnetId, free: -1, tags: {} }];
    const out = await this.#api.send(
      new DescribeSubnetsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [this.#node.vpcId] },
          { Name: 'availability-zone', Values: [this.#node.zone] },
        ],
      }),
    );
    const subnets = (out.Subnets ?? []).map((s) => ({
      id: s.SubnetId ?? '',
      free: s.AvailableIpAddressCount ?? 0,
      tags: Object.fromEntries((s.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    }));
    return rankSubnets(subnets, this.#node.primarySubnetId, this.#node.clusterName);
  }

  /** The plan for a new ENI: pure data once the subnets, the primary's groups and the used devices are known. */
  prepareEni(
    want: { readonly count: number; readonly prefix: boolean },
    facts: {
      readonly subnets: readonly SubnetInfo[];
      readonly primaryGroups: readonly string[];
      readonly usedDevices: readonly number[];
      readonly nowIso: string;
    },
  ): EniPlan {
    const custom = this.#node.eniConfig;
    const groups =
      custom !== undefined && custom.securityGroups.length > 0 ? custom.securityGroups : facts.primaryGroups;
    let deviceIndex = 1;
    while (facts.usedDevices.includes(deviceIndex)) deviceIndex++;
    const tags: Record<string, string> = {
      ...this.#node.additionalTags,
      [TAG_CREATED_AT]: facts.nowIso,
      [TAG_INSTANCE]: this.#node.instanceId,
    };
    if (this.#node.clusterName !== '') {
      tags[TAG_CLUSTER] = this.#node.clusterName;
      tags['eks:eni:owner'] = 'amazon-vpc-cni';
    }
    return {
      subnetIds: facts.subnets.map((s) => s.id),
      securityGroups: [...groups],
      deviceIndex,
      count: want.count,
      prefix: want.prefix,
      description: `${DESCRIPTION_PREFIX}${this.#node.instanceId}`,
      tags,
    };
  }

  /**
   * Creates (trying each subnet in order), attaches and marks DeleteOnTermination. Any failure after the create
   * deletes the ENI again, so the caller never owns a half-made ENI.
   */
  async createEni(plan: EniPlan): Promise<EniObservation> {
    const created = await this.#create(plan);
    const id = created.NetworkInterfaceId ?? '';
    let attachmentId: string;
    try {
      const attach = await this.#api.send(
        new AttachNetworkInterfaceCommand({
          NetworkInterfaceId: id,
          InstanceId: this.#node.instanceId,
          DeviceIndex: plan.deviceIndex,
          NetworkCardIndex: 0,
        }),
      );
      attachmentId = attach.AttachmentId ?? '';
    } catch (error) {
      await this.#deleteOrRemember(id);
      throw classify(error, 'AttachNetworkInterface');
    }
    try {
      await this.#api.send(
        new ModifyNetworkInterfaceAttributeCommand({
          NetworkInterfaceId: id,
          Attachment: { AttachmentId: attachmentId, DeleteOnTermination: true },
        }),
      );
    } catch (error) {
      await this.freeEni(id, attachmentId);
      throw classify(error, 'ModifyNetworkInterfaceAttribute');
    }
    return observe({ ...created, Attachment: { AttachmentId: attachmentId, DeviceIndex: plan.deviceIndex } });
  }

  async #create(plan: EniPlan): Promise<NetworkInterface> {
    let last: CloudError | undefined;
    for (const subnetId of plan.subnetIds) {
      try {
        const out = await this.#api.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: subnetId,
            Description: plan.description,
            Groups: [...plan.securityGroups],
            ...(plan.prefix ? { Ipv4PrefixCount: plan.count } : { SecondaryPrivateIpAddressCount: plan.count }),
            TagSpecifications: [
              {
                ResourceType: 'network-interface',
                Tags: Object.entries(plan.tags).map(([Key, Value]) => ({ Key, Value })),
              },
            ],
          }),
        );
        return out.NetworkInterface ?? {};
      } catch (error) {
        last = classify(error, 'CreateNetworkInterface');
        // A full subnet (or one without a free /28) is not fatal: the next candidate may have room.
        if (last.kind !== 'subnet_full' && last.kind !== 'insufficient_cidr') throw last;
      }
    }
    throw last ?? new CloudError('subnet_full', 'NoEligibleSubnet', 'CreateNetworkInterface', 'no subnet to use');
  }

  /** Adds `count` secondary addresses or /28 prefixes to an ENI; returns what EC2 assigned. */
  async assign(eniId: string, count: number, prefix: boolean): Promise<{ ips: string[]; prefixes: string[] }> {
    const out = await this.#api.send(
      new AssignPrivateIpAddressesCommand({
        NetworkInterfaceId: eniId,
        ...(prefix ? { Ipv4PrefixCount: count } : { SecondaryPrivateIpAddressCount: count }),
      }),
    );
    return {
      ips: (out.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress ?? ''),
      prefixes: (out.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix ?? ''),
    };
  }

  /** Returns addresses and prefixes (one call for each kind, as EC2 refuses a mixture). */
  async unassign(eniId: string, cidrs: readonly string[]): Promise<void> {
    const prefixes = cidrs.filter((c) => !c.endsWith('/32'));
    const ips = cidrs.filter((c) => c.endsWith('/32')).map((c) => c.slice(0, -3));
    if (ips.length > 0) {
      await this.#api.send(
        new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ips }),
      );
    }
    if (prefixes.length > 0) {
      await this.#api.send(
        new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: prefixes }),
      );
    }
  }

  /** Detaches and deletes. A delete that fails after the detach is remembered and retried later. */
  async freeEni(eniId: string, attachmentId: string): Promise<void> {
    if (attachmentId !== '') {
      try {
        await this.#api.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
      } catch (error) {
        const e = classify(error, 'DetachNetworkInterface');
        if (e.kind !== 'not_found') throw e;
      }
    }
    await this.#deleteOrRemember(eniId);
  }

  async #deleteOrRemember(eniId: string): Promise<void> {
    try {
      await this.#delete(eniId);
      this.pendingDeletes.delete(eniId);
    } catch {
      this.pendingDeletes.add(eniId);
    }
  }

  async #delete(eniId: string): Promise<void> {
    try {
      await this.#api.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }));
    } catch (error) {
      const e = classify(error, 'DeleteNetworkInterface');
      if (e.kind !== 'not_found') throw e;
    }
  }

  /** Retries deletes that failed earlier; returns how many are still pending. */
  async retryPendingDeletes(): Promise<number> {
    for (const id of [...this.pendingDeletes]) await this.#deleteOrRemember(id);
    return this.pendingDeletes.size;
  }

  /**
   * The reference's leaked-ENI sweep: available ENIs carrying our instance tag (and cluster tag when set), with our
   * description, created more than 5 minutes ago, are deleted; ones without a readable `createdAt` get one now and
   * wait for the next sweep. Returns the ids deleted.
   */
  async sweepLeaked(nowMs: number): Promise<string[]> {
    const filters = [
      { Name: 'tag-key', Values: [TAG_INSTANCE] },
      { Name: 'status', Values: ['available'] },
      { Name: 'vpc-id', Values: [this.#node.vpcId] },
      ...(this.#node.clusterName !== '' ? [{ Name: `tag:${TAG_CLUSTER}`, Values: [this.#node.clusterName] }] : []),
    ];
    const out = await this.#api.send(new DescribeNetworkInterfacesCommand({ Filters: filters }));
    const deleted: string[] = [];
    for (const eni of out.NetworkInterfaces ?? []) {
      if (!(eni.Description ?? '').startsWith(DESCRIPTION_PREFIX)) continue;
      const id = eni.NetworkInterfaceId ?? '';
      const created = Date.parse(tagsOf(eni)[TAG_CREATED_AT] ?? '');
      if (Number.isNaN(created)) {
        await this.#api.send(
          new CreateTagsCommand({
            Resources: [id],
            Tags: [{ Key: TAG_CREATED_AT, Value: new Date(nowMs).toISOString() }],
          }),
        );
        continue;
      }
      if (nowMs - created < LEAK_MIN_AGE_MS) continue;
      await this.#delete(id);
      deleted.push(id);
    }
    return deleted;
  }
}
