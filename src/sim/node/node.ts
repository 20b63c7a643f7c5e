import type { Cloud } from '../model/cloud.ts';
import type { Instance } from '../model/eni.ts';
import { addNetns, deleteNetns, ipBatch, sysctl } from './kernel.ts';
import {
  desiredLayout,
  ENI_MTU,
  ENI_NEXT_HOP,
  emptyLayout,
  IGW_TABLE,
  internetPeerAddress,
  linkNames,
  type NodeLayout,
  prefixLength,
  sameLink,
  subnetGateway,
  vpcPeerAddress,
} from './layout.ts';

/**
 * The simulated instance in real network namespaces. The node namespace holds what the hypervisor gives an
 * instance: `eth0` with the primary ENI's MAC and address and a default route via the subnet's router, and one
 * more link per attached ENI. The VPC namespace is the fabric: the other end of every ENI's veth, routes that
 * deliver each address and prefix to the MAC of the ENI holding it, the subnet routers, a VPC peer and an
 * internet peer. It follows the model: every change in the Cloud re-derives the layout and writes the difference.
 */
export interface SimNode {
  /** The node's namespace (the instance's host network). */
  readonly netns: string;
  /** The VPC fabric's namespace. */
  readonly vpcNetns: string;
  /** A VPC address outside every ENI, answering in the VPC namespace. */
  readonly vpcPeer: string;
  /** An address outside the VPC; it answers the node's primary IP only, as an internet gateway maps only that. */
  readonly internetPeer: string;
  readonly primaryIp: string;
  /** The node subnet's router (its network address + 1), eth0's default gateway. */
  readonly gateway: string;
  /** Resolves once the kernel matches the model; rejects with the failure if writing it failed. */
  settled(): Promise<void>;
  /** Removes both namespaces, and with them every veth. */
  close(): Promise<void>;
}

/** Namespace names are file names under /var/run/netns; the VPC one adds a suffix. */
const NETNS_NAME = /^[A-Za-z0-9][\w.-]{0,47}$/;

export async function startNode(cloud: Cloud, instance: Instance, netns: string): Promise<SimNode> {
  if (!NETNS_NAME.test(netns)) {
    throw new Error(`node namespace name "${netns}" must be 1-48 letters, digits, '.', '_' or '-'`);
  }
  const node = new KernelNode(cloud, instance, netns);
  try {
    await node.create();
  } catch (error) {
    await node.close().catch(() => undefined);
    throw new Error(`laying out the simulated node in namespace ${netns}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return node;
}

class KernelNode implements SimNode {
  readonly netns: string;
  readonly vpcNetns: string;
  readonly vpcPeer: string;
  readonly internetPeer: string;
  readonly primaryIp: string;
  readonly gateway: string;
  readonly #cloud: Cloud;
  readonly #instance: Instance;
  readonly #subnetCidrs: readonly string[];
  readonly #primaryCidr: string;
  /** Namespaces this object created, deleted by close(). */
  readonly #created: string[] = [];
  #applied: NodeLayout = emptyLayout;
  #unsubscribe: (() => void) | undefined;
  #dirty = false;
  #running: Promise<void> | undefined;
  #failure: Error | undefined;

  constructor(cloud: Cloud, instance: Instance, netns: string) {
    this.#cloud = cloud;
    this.#instance = instance;
    this.netns = netns;
    this.vpcNetns = `${netns}-vpc`;
    this.#subnetCidrs = [...cloud.subnets.values()].map((subnet) => subnet.cidrBlock);
    const primary = cloud.eni(instance.primaryEniId);
    this.primaryIp = primary.privateIps[0]!.address;
    this.#primaryCidr = cloud.subnet(primary.subnetId).cidrBlock;
    this.gateway = subnetGateway(this.#primaryCidr);
    this.vpcPeer = vpcPeerAddress(cloud.vpcCidrs, this.#subnetCidrs);
    this.internetPeer = internetPeerAddress(cloud.vpcCidrs);
  }

  async create(): Promise<void> {
    for (const name of [this.netns, this.vpcNetns]) {
      await addNetns(name);
      this.#created.push(name);
    }
    await ipBatch(this.vpcNetns, [
      // lo first: without it the local table is empty and onlink next hops are refused.
      'link set lo up',
      ...this.#subnetCidrs.map((cidr) => `address add ${subnetGateway(cidr)}/32 dev lo`),
      `address add ${this.vpcPeer}/32 dev lo`,
      `address add ${this.internetPeer}/32 dev lo`,
      `rule add from ${this.internetPeer}/32 lookup ${IGW_TABLE} priority 1000`,
      `route add unreachable default table ${IGW_TABLE}`,
    ]);
    await ipBatch(this.netns, ['link set lo up']);
    // The fabric forwards between ENIs; strict reverse-path filtering on every ENI link (the default for links
    // created from now on) is EC2's source/destination check: a packet whose source another ENI holds is dropped.
    await sysctl(this.vpcNetns, [
      'net/ipv4/ip_forward=1',
      'net/ipv4/conf/all/rp_filter=0',
      'net/ipv4/conf/default/rp_filter=1',
    ]);
    // As on an EKS node image; the reference's plugin assumes it.
    await sysctl(this.netns, ['net/ipv4/ip_forward=1']);
    this.#unsubscribe = this.#cloud.onChange(() => this.#schedule());
    this.#schedule();
    await this.settled();
    const primaryLink = linkNames(0, this.#cloud.eni(this.#instance.primaryEniId).attachment!.networkCardIndex);
    // The instance's own configuration of its primary interface, as the image's network setup leaves it.
    await ipBatch(this.netns, [
      `link set ${primaryLink.nodeLink} up`,
      `address add ${this.primaryIp}/${prefixLength(this.#primaryCidr)} dev ${primaryLink.nodeLink}`,
      `route add default via ${this.gateway} dev ${primaryLink.nodeLink}`,
    ]);
    await ipBatch(this.vpcNetns, [
      `route add ${this.primaryIp}/32 via ${ENI_NEXT_HOP} dev ${primaryLink.vpcLink} onlink table ${IGW_TABLE}`,
    ]);
  }

  async settled(): Promise<void> {
    await this.#running;
    if (this.#failure !== undefined) throw this.#failure;
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    await this.#running;
    const failures: string[] = [];
    for (const name of this.#created.splice(0).reverse()) {
      await deleteNetns(name).catch((error: Error) => failures.push(error.message));
    }
    if (failures.length > 0) throw new Error(`removing the simulated node: ${failures.join('; ')}`);
  }

  /** Changes arrive synchronously from the model; one writer drains them, coalescing bursts into one batch. */
  #schedule(): void {
    this.#dirty = true;
    this.#running ??= this.#drain();
  }

  async #drain(): Promise<void> {
    try {
      while (this.#dirty && this.#failure === undefined) {
        this.#dirty = false;
        await this.#sync();
      }
    } catch (error) {
      this.#failure = error as Error;
    } finally {
      this.#running = undefined;
    }
  }

  async #sync(): Promise<void> {
    const want = desiredLayout(this.#cloud, this.#instance.id);
    const have = this.#applied;
    const lines: string[] = [];
    const unplugged = new Set<string>();
    // Detached (or replaced) ENIs first: their names may be reused by an ENI attached at the same device index.
    for (const [id, link] of have.links) {
      if (sameLink(want.links.get(id), link)) continue;
      lines.push(`link delete ${link.vpcLink}`); // deletes the node's end too, and the routes through it
      unplugged.add(link.vpcLink);
    }
    for (const [id, link] of want.links) {
      if (sameLink(have.links.get(id), link)) continue;
      // The node's end appears as a hot-plugged NIC does: its MAC, down, no address.
      lines.push(
        `link add ${link.vpcLink} mtu ${ENI_MTU} type veth peer name ${link.nodeLink} address ${link.mac} mtu ${ENI_MTU} netns ${this.netns}`,
        `link set ${link.vpcLink} up`,
        `neighbour replace ${ENI_NEXT_HOP} lladdr ${link.mac} dev ${link.vpcLink} nud permanent`,
      );
    }
    const routed = new Map([...have.routes].filter(([, vpcLink]) => !unplugged.has(vpcLink)));
    for (const cidr of routed.keys()) if (!want.routes.has(cidr)) lines.push(`route delete ${cidr}`);
    for (const [cidr, vpcLink] of want.routes) {
      if (routed.get(cidr) !== vpcLink) lines.push(`route replace ${cidr} via ${ENI_NEXT_HOP} dev ${vpcLink} onlink`);
    }
    await ipBatch(this.vpcNetns, lines);
    this.#applied = want;
  }
}
