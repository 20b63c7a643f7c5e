import {
  formatIpv4,
  type Ipv4Cidr,
  ipv4CidrContains,
  ipv4CidrSize,
  ipv4InCidr,
  parseIpv4Cidr,
} from '../../lib/address.ts';
import type { Cloud } from '../model/cloud.ts';

/**
 * What the simulated node's network should look like for the model as it is now: one veth per ENI attached to the
 * node, and in the VPC namespace one route per address or prefix of each ENI. Pure: the kernel side (`node.ts`)
 * diffs two layouts and writes the difference.
 */

/**
 * The VPC fabric knows which MAC holds an address, it does not ARP for it. Every route in the VPC namespace goes
 * via this link-local next hop, whose permanent neighbour on each ENI's link is that ENI's MAC.
 */
export const ENI_NEXT_HOP = '169.254.0.1';
/** ENIs have a 9001-byte MTU (jumbo frames inside the VPC). */
export const ENI_MTU = 9001;
/** The VPC namespace's route table for replies from the internet peer: the internet gateway's public mapping. */
export const IGW_TABLE = 100;

export interface PluggedEni {
  readonly eniId: string;
  readonly mac: string;
  /** The node's end, named by device index as the kernel names a hot-plugged NIC (eth0, eth1…). */
  readonly nodeLink: string;
  /** The VPC namespace's end. */
  readonly vpcLink: string;
}

export interface NodeLayout {
  /** By ENI id. */
  readonly links: ReadonlyMap<string, PluggedEni>;
  /** Every address (as /32) and /28 prefix of an attached ENI → the VPC-side link of the ENI that holds it. */
  readonly routes: ReadonlyMap<string, string>;
}

export const emptyLayout: NodeLayout = { links: new Map(), routes: new Map() };

/** Interface names stay under the kernel's 15 characters; ENIs on network card N > 0 carry the card in the name. */
export function linkNames(deviceIndex: number, networkCardIndex: number): { nodeLink: string; vpcLink: string } {
  const card = networkCardIndex === 0 ? '' : `nc${networkCardIndex}`;
  return { nodeLink: `${card}eth${deviceIndex}`, vpcLink: `${card}eni${deviceIndex}` };
}

export function desiredLayout(cloud: Cloud, instanceId: string): NodeLayout {
  const links = new Map<string, PluggedEni>();
  const routes = new Map<string, string>();
  for (const eni of cloud.attachedTo(instanceId)) {
    const { deviceIndex, networkCardIndex } = eni.attachment!;
    const names = linkNames(deviceIndex, networkCardIndex);
    links.set(eni.id, { eniId: eni.id, mac: eni.mac, ...names });
    for (const ip of eni.privateIps) routes.set(`${ip.address}/32`, names.vpcLink);
    for (const prefix of eni.prefixes) routes.set(prefix, names.vpcLink);
  }
  return { links, routes };
}

export function sameLink(a: PluggedEni | undefined, b: PluggedEni): boolean {
  return a !== undefined && a.mac === b.mac && a.nodeLink === b.nodeLink && a.vpcLink === b.vpcLink;
}

/** An IPv4 CIDR of the model; the model only holds valid ones, so a bad one is a simulator bug. */
function cidrOf(text: string): Ipv4Cidr {
  const cidr = parseIpv4Cidr(text);
  if (cidr === undefined) throw new Error(`simulated node: not an IPv4 CIDR: ${text}`);
  return cidr;
}

/** The subnet's router: AWS reserves the network address + 1 for it. */
export function subnetGateway(cidr: string): string {
  return formatIpv4(cidrOf(cidr).base + 1);
}

export function prefixLength(cidr: string): number {
  return cidrOf(cidr).bits;
}

/**
 * An address in the VPC that no ENI can ever hold: the highest address of a VPC CIDR outside every subnet (reached
 * through the node's gateway, like another instance's), else the VPC's DNS resolver (the primary CIDR's base + 2,
 * reserved in its subnet).
 */
export function vpcPeerAddress(vpcCidrs: readonly string[], subnetCidrs: readonly string[]): string {
  const subnets = subnetCidrs.map(cidrOf);
  for (const text of vpcCidrs) {
    const vpc = cidrOf(text);
    let candidate = vpc.base + ipv4CidrSize(vpc) - 2;
    while (candidate > vpc.base) {
      const inside = subnets.find((s) => ipv4CidrContains(s, candidate));
      if (inside === undefined) return formatIpv4(candidate);
      candidate = inside.base - 1;
    }
  }
  return formatIpv4(cidrOf(vpcCidrs[0]!).base + 2);
}

/** A documentation address (RFC 5737) outside the VPC, standing for any host on the internet. */
export function internetPeerAddress(vpcCidrs: readonly string[]): string {
  const free = ['203.0.113.10', '198.51.100.10', '192.0.2.10'].find(
    (address) => !vpcCidrs.some((cidr) => ipv4InCidr(address, cidr)),
  );
  if (free === undefined) throw new Error(`simulated node: the VPC CIDRs ${vpcCidrs.join(', ')} cover RFC 5737`);
  return free;
}
