/** IPv4 addresses as unsigned 32-bit numbers, so subnet accounting is integer arithmetic. */
import { formatIpv4, parseIpv4 } from '../../compiler/net.ts';

export { formatIpv4, parseIpv4 };

export interface Cidr {
  readonly base: number;
  readonly bits: number;
}

/** Parses `a.b.c.d/n`; the base must be aligned to the prefix length, as EC2 requires. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, length, extra] = text.split('/');
  if (address === undefined || length === undefined || extra !== undefined || !/^\d{1,2}$/.test(length))
    return undefined;
  const base = parseIpv4(address);
  const bits = Number(length);
  if (base === undefined || bits > 32 || base % 2 ** (32 - bits) !== 0) return undefined;
  return { base, bits };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIpv4(cidr.base)}/${cidr.bits}`;
}

export function cidrSize(cidr: Cidr): number {
  return 2 ** (32 - cidr.bits);
}

export function cidrContains(outer: Cidr, address: number): boolean {
  return address >= outer.base && address < outer.base + cidrSize(outer);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + cidrSize(b) && b.base < a.base + cidrSize(a);
}
