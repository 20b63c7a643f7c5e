/** IPv4 helpers for the datastore: the addresses a /32 or /28 holds, in order. */

function toNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function toIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Every address of `a.b.c.d/len` (len ≥ 24, as ENI CIDRs are /32 or /28), network address first. */
export function cidrAddresses(cidr: string): string[] {
  const [ip, lenText] = cidr.split('/');
  const len = Number(lenText ?? '32');
  if (ip === undefined || !Number.isInteger(len) || len < 24 || len > 32) throw new Error(`not an ENI CIDR: ${cidr}`);
  const size = 2 ** (32 - len);
  const base = toNumber(ip) & ~(size - 1);
  return Array.from({ length: size }, (_, i) => toIp((base + i) >>> 0));
}
