/**
 * Address arithmetic the plan needs (pure). IPv4 is handled numerically because the plan derives gateways and normalises
 * CIDRs the way Go's `net.ParseCIDR().String()` does; IPv6 only needs validation and the prefix length.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text);
  if (m === null) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return (((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0) as number;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function maskOf(length: number): number {
  return length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
}

export interface Ipv4Cidr {
  readonly network: number;
  readonly length: number;
}

export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const [address, length, extra] = text.split('/');
  if (address === undefined || length === undefined || extra !== undefined || !/^\d{1,2}$/.test(length))
    return undefined;
  const ip = parseIpv4(address);
  const len = Number(length);
  if (ip === undefined || len > 32) return undefined;
  return { network: (ip & maskOf(len)) >>> 0, length: len };
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.network)}/${cidr.length}`;
}

/** `10.0.1.7/16` → `10.0.0.0/16`, as the reference normalises exclusion CIDRs; undefined when not an IPv4 CIDR. */
export function normaliseIpv4Cidr(text: string): string | undefined {
  const cidr = parseIpv4Cidr(text.trim());
  return cidr === undefined ? undefined : formatIpv4Cidr(cidr);
}

export function ipv4InCidr(ip: string, cidr: string): boolean {
  const address = parseIpv4(ip);
  const net = parseIpv4Cidr(cidr);
  if (address === undefined || net === undefined) return false;
  return (address & maskOf(net.length)) >>> 0 === net.network;
}

/** The VPC router of an IPv4 subnet: network address + 1 (`10.0.32.0/19` → `10.0.32.1`). */
export function ipv4SubnetGateway(subnetCidr: string): string | undefined {
  const net = parseIpv4Cidr(subnetCidr);
  return net === undefined ? undefined : formatIpv4((net.network + 1) >>> 0);
}

export function isIpv6(text: string): boolean {
  return text.includes(':');
}

/** Prefix length of any CIDR string (`10.0.0.0/16` → 16, `2600:1f14::/64` → 64). */
export function prefixLength(cidr: string): number | undefined {
  const length = cidr.split('/')[1];
  return length === undefined || !/^\d{1,3}$/.test(length) ? undefined : Number(length);
}
