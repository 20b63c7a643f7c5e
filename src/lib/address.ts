/**
 * IP addresses and CIDRs, parsed by ipaddr.js and nothing else. A shared leaf: the compiler, IPAM and the simulators
 * all use it, and it imports nothing of ours.
 *
 * Parsing is strict, as EC2 and the kernel print addresses: IPv4 is four decimal octets without leading zeros
 * (`010.1.2.3`, `1.2.3` and `0x1.2.3.4` are not addresses, although inet_aton and ipaddr.js's lenient parser accept
 * them), IPv6 carries no zone (`fe80::1%eth0`), and a prefix length is plain decimal. IPv4 values are unsigned 32-bit
 * numbers so subnet accounting is integer arithmetic.
 */
import ipaddr from 'ipaddr.js';

const PREFIX_LENGTH = /^(0|[1-9]\d{0,2})$/;

export function isIpv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** An IPv6 address without a zone (`%eth0`): only hex digits, colons and an embedded dotted quad. */
export function isIpv6(text: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(text) && ipaddr.IPv6.isValid(text);
}

/** `10.0.1.5` → 167772421; undefined when not a strict dotted-quad IPv4 address. */
export function parseIpv4(text: string): number | undefined {
  if (!isIpv4(text)) return undefined;
  const [a, b, c, d] = ipaddr.IPv4.parse(text).octets as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

function splitCidr(text: string): { readonly address: string; readonly length: number } | undefined {
  const [address, length, extra] = text.split('/');
  if (address === undefined || length === undefined || extra !== undefined || !PREFIX_LENGTH.test(length)) {
    return undefined;
  }
  return { address, length: Number(length) };
}

export interface Ipv4Cidr {
  /** The network address (host bits cleared). */
  readonly base: number;
  readonly bits: number;
}

function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `10.0.1.7/16` → base 10.0.0.0, 16 bits (host bits are cleared, as Go's `net.ParseCIDR` does). */
export function parseIpv4Cidr(text: string): Ipv4Cidr | undefined {
  const parts = splitCidr(text);
  if (parts === undefined || parts.length > 32) return undefined;
  const address = parseIpv4(parts.address);
  return address === undefined ? undefined : { base: (address & maskOf(parts.length)) >>> 0, bits: parts.length };
}

/** Like `parseIpv4Cidr`, but a CIDR with host bits set is refused, as EC2 refuses `10.0.1.7/16` for a subnet. */
export function parseIpv4Network(text: string): Ipv4Cidr | undefined {
  const cidr = parseIpv4Cidr(text);
  return cidr !== undefined && formatIpv4Cidr(cidr) === text ? cidr : undefined;
}

export function formatIpv4Cidr(cidr: Ipv4Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.bits}`;
}

/** `10.0.1.7/16` → `10.0.0.0/16`, as the reference normalises exclusion CIDRs; undefined when not an IPv4 CIDR. */
export function normaliseIpv4Cidr(text: string): string | undefined {
  const cidr = parseIpv4Cidr(text.trim());
  return cidr === undefined ? undefined : formatIpv4Cidr(cidr);
}

export function isIpv6Cidr(text: string): boolean {
  const parts = splitCidr(text);
  return parts !== undefined && parts.length <= 128 && isIpv6(parts.address);
}

/** Whether the IPv6 address `ip` lies in the IPv6 CIDR `cidr`; false when either does not parse. */
export function ipv6InCidr(ip: string, cidr: string): boolean {
  const parts = splitCidr(cidr);
  if (!isIpv6(ip) || parts === undefined || parts.length > 128 || !isIpv6(parts.address)) return false;
  return ipaddr.IPv6.parse(ip).match(ipaddr.IPv6.parse(parts.address), parts.length);
}

/** One spelling per IPv6 address (`2600:0::1` and `2600::1` → `2600::1`), so addresses compare as text. */
export function normaliseIpv6(text: string): string | undefined {
  return isIpv6(text) ? ipaddr.IPv6.parse(text).toString() : undefined;
}

export function ipv4CidrSize(cidr: Ipv4Cidr): number {
  return 2 ** (32 - cidr.bits);
}

export function ipv4CidrContains(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.base && address < cidr.base + ipv4CidrSize(cidr);
}

export function ipv4CidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return a.base < b.base + ipv4CidrSize(b) && b.base < a.base + ipv4CidrSize(a);
}

/** Whether the address `ip` lies in `cidr`, both as text; false when either does not parse. */
export function ipv4InCidr(ip: string, cidr: string): boolean {
  const address = parseIpv4(ip);
  const net = parseIpv4Cidr(cidr);
  return address !== undefined && net !== undefined && ipv4CidrContains(net, address);
}

/** The VPC router of an IPv4 subnet: network address + 1 (`10.0.32.0/19` → `10.0.32.1`). */
export function ipv4SubnetGateway(subnetCidr: string): string | undefined {
  const net = parseIpv4Cidr(subnetCidr);
  return net === undefined ? undefined : formatIpv4((net.base + 1) >>> 0);
}

/** Every address of an IPv4 CIDR of at most 256 addresses (ENI CIDRs are /32 or /28), network address first. */
export function ipv4CidrAddresses(text: string): string[] {
  const cidr = parseIpv4Cidr(text);
  if (cidr === undefined || cidr.bits < 24) throw new Error(`not an IPv4 CIDR of /24 or longer: ${text}`);
  return Array.from({ length: ipv4CidrSize(cidr) }, (_, i) => formatIpv4((cidr.base + i) >>> 0));
}

/** Prefix length of an IPv4 or IPv6 CIDR (`10.0.0.0/16` → 16, `2600:1f14::/64` → 64); undefined when neither. */
export function prefixLength(cidr: string): number | undefined {
  const parts = splitCidr(cidr);
  if (parts === undefined) return undefined;
  if (isIpv4(parts.address)) return parts.length <= 32 ? parts.length : undefined;
  return isIpv6(parts.address) && parts.length <= 128 ? parts.length : undefined;
}
