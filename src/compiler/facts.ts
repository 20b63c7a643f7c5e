/**
 * Node facts: everything the host plan needs to know about the instance, as read from IMDS (`src/ipam/cloud/imds.ts`)
 * plus the Linux interface names found by MAC. The zod schema below IS the node snapshot schema (`--node FILE`);
 * `schema/node.schema.json` is generated from it and a test keeps the two identical.
 */
import * as z from 'zod';
import {
  type Ipv4Cidr,
  ipv4CidrContains,
  ipv4CidrsOverlap,
  ipv6InCidr,
  isIpv6,
  isIpv6Cidr,
  normaliseIpv6,
  parseIpv4,
  parseIpv4Network,
} from '../lib/address.ts';
import { describeIssues, issuePath, plainMessages, shownValue } from '../lib/issues.ts';
import { isInterfaceName } from './render/grammar.ts';

/*
 * Every field is checked by its real domain, as EC2 and IMDS produce it, because the compiler turns these values into
 * routes, rules and route table numbers run as root: a snapshot that cannot describe a real instance is refused, never
 * planned. The regexes carry the shape into the JSON Schema; the refinements add what a regex says badly.
 */
const mac = z
  .string()
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'must be a lower-case MAC address such as 0a:1b:2c:3d:4e:5f')
  .describe('MAC address, lower case (the IMDS `network/interfaces/macs/<mac>/` key)');
// Four decimal octets without leading zeros: `010.010.040.005` is octal to inet_aton and decimal to others.
const ipv4 = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address such as 10.0.1.5')
  .refine(
    (s) => parseIpv4(s) !== undefined,
    'must be an IPv4 address such as 10.0.1.5 (octets 0–255, no leading zeros)',
  );
const ipv4Network = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, `must be ${what} such as 10.0.0.0/${Math.max(min, 16)}`)
    .refine(
      (s) => parseIpv4Network(s) !== undefined,
      `must be ${what}: a network address without host bits, octets without leading zeros`,
    )
    .refine(
      (s) => {
        const bits = parseIpv4Network(s)?.bits ?? min;
        return bits >= min && bits <= max;
      },
      `must be ${what} with a prefix length ${min === max ? `of ${min}` : `from /${min} to /${max}`}`,
    );
// EC2 allows VPC and subnet blocks from /16 to /28, and delegates IPv4 prefixes as /28 and IPv6 prefixes as /80.
const vpcCidr = ipv4Network('a VPC CIDR block', 16, 28);
const subnetCidr = ipv4Network('a subnet CIDR block', 16, 28);
const ipv4Prefix = ipv4Network('a delegated IPv4 prefix', 28, 28);
const ipv6 = z
  .string()
  .regex(/^[0-9a-f:]{2,39}$/, 'must be an IPv6 address in lower case such as 2600:1f14::5')
  .refine(isIpv6, 'must be an IPv6 address in lower case such as 2600:1f14::5');
const ipv6Cidr = z
  .string()
  .regex(/^[0-9a-f:]{2,39}\/\d{1,3}$/, 'must be an IPv6 CIDR such as 2600:1f14:1:2::/64')
  .refine(isIpv6Cidr, 'must be an IPv6 CIDR such as 2600:1f14:1:2::/64');
// Route tables are `device + 1` on card 0 and `10000 + 100·card + device` on the others (context.ts): a device number
// of 100 or more would collide with another card's tables, and 253 with the kernel's own. EC2 has 32 cards at most.
const MAX_DEVICE_NUMBER = 99;
const MAX_NETWORK_CARD = 31;
// The largest instances attach 24 ENIs with 64 addresses each; a VPC has at most 50 IPv4 CIDR blocks.
const MAX_ENIS = 128;
const MAX_ADDRESSES = 256;
const MAX_VPC_CIDRS = 50;
const awsId = (prefix: string, example: string) =>
  z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{1,17}$`), `must be an id such as ${example}`);
const awsName = (what: string, example: string) =>
  z.string().regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, `must be ${what} such as ${example}`);

export const Eni = z
  .object({
    mac,
    deviceNumber: z
      .int()
      .min(0)
      .max(MAX_DEVICE_NUMBER)
      .describe('IMDS `device-number`; 0 is the primary ENI on network card 0'),
    networkCard: z
      .int()
      .min(0)
      .max(MAX_NETWORK_CARD)
      .default(0)
      .describe('IMDS `network-card` (absent on single-card instances)'),
    interfaceId: awsId('eni', 'eni-0abc123'),
    subnetId: awsId('subnet', 'subnet-0abc123'),
    subnetCidr: subnetCidr.describe('IMDS `subnet-ipv4-cidr-block`'),
    subnetIpv6Cidrs: z.array(ipv6Cidr).max(MAX_VPC_CIDRS).default([]).describe('IMDS `subnet-ipv6-cidr-blocks`'),
    vpcCidrs: z.array(vpcCidr).min(1).max(MAX_VPC_CIDRS).describe('IMDS `vpc-ipv4-cidr-blocks`, in IMDS order'),
    localIpv4s: z
      .array(ipv4)
      .min(1)
      .max(MAX_ADDRESSES)
      .describe('IMDS `local-ipv4s`; the first is the ENI primary address'),
    ipv4Prefixes: z.array(ipv4Prefix).max(MAX_ADDRESSES).default([]).describe('IMDS `ipv4-prefix` (prefix delegation)'),
    ipv6s: z.array(ipv6).max(MAX_ADDRESSES).default([]).describe('IMDS `ipv6s`'),
    ipv6Prefixes: z
      .array(ipv6Cidr)
      .max(MAX_ADDRESSES)
      .default([])
      .describe('IMDS `ipv6-prefix` (IPv6 prefix delegation)'),
    interfaceName: z
      .string()
      .refine(isInterfaceName, 'must be a Linux interface name (1–15 bytes, no space, slash or colon)')
      .optional()
      .describe('Linux interface name found by MAC in the live kernel; absent = not resolved yet'),
  })
  .strict();
export type Eni = z.infer<typeof Eni>;

export const IptablesMode = z
  .enum(['nf_tables', 'legacy'])
  .describe('Backend of the iptables binary on the node, from `iptables --version`; selects the connmark backend');
export type IptablesMode = z.infer<typeof IptablesMode>;

interface Snapshot {
  readonly primaryMac: string;
  readonly localIpv4: string;
  readonly enis: readonly Eni[];
}
type Ctx = z.core.$RefinementCtx<Snapshot>;
type Path = (string | number)[];

/** An address or prefix of an ENI as a range, with where it sits in the snapshot. */
interface Held {
  readonly range: Ipv4Cidr;
  readonly text: string;
  readonly path: Path;
}

const v4 = (text: string): Ipv4Cidr => ({ base: parseIpv4(text)!, bits: 32 });
const net = (text: string): Ipv4Cidr => parseIpv4Network(text)!;

/** EC2 reserves a subnet's first four addresses (network, router, DNS, future) and its last one. */
function reservedInSubnet(address: number, subnet: Ipv4Cidr): boolean {
  const offset = address - subnet.base;
  return offset < 4 || offset === 2 ** (32 - subnet.bits) - 1;
}

/** Where each ENI's addresses, prefixes and subnet must sit: EC2 assigns them from the ENI's subnet in its VPC. */
function eniWithinItsSubnet(eni: Eni, i: number, ctx: Ctx): void {
  const subnet = net(eni.subnetCidr);
  const vpc = eni.vpcCidrs.map(net);
  if (!vpc.some((block) => ipv4CidrContains(block, subnet.base) && block.bits <= subnet.bits)) {
    ctx.addIssue({
      code: 'custom',
      path: ['enis', i, 'subnetCidr'],
      message: `is in none of the ENI's VPC CIDR blocks ${eni.vpcCidrs.join(', ')}`,
    });
  }
  vpc.forEach((block, j) => {
    const other = vpc.findIndex((b, k) => k < j && ipv4CidrsOverlap(b, block));
    if (other >= 0)
      ctx.addIssue({
        code: 'custom',
        path: ['enis', i, 'vpcCidrs', j],
        message: `overlaps the VPC's block ${eni.vpcCidrs[other]}; a VPC's blocks are disjoint`,
      });
  });
  eni.localIpv4s.forEach((address, j) => {
    const value = parseIpv4(address)!;
    const problem = !ipv4CidrContains(subnet, value)
      ? `is outside the ENI's subnet ${eni.subnetCidr}`
      : reservedInSubnet(value, subnet)
        ? `is an address EC2 reserves in subnet ${eni.subnetCidr} (the first four and the last)`
        : undefined;
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['enis', i, 'localIpv4s', j], message: problem });
  });
  eni.ipv4Prefixes.forEach((prefix, j) => {
    const range = net(prefix);
    if (!ipv4CidrContains(subnet, range.base))
      ctx.addIssue({
        code: 'custom',
        path: ['enis', i, 'ipv4Prefixes', j],
        message: `is outside the ENI's subnet ${eni.subnetCidr}`,
      });
  });
  const ipv6Field = (field: 'ipv6s' | 'ipv6Prefixes', values: readonly string[]) =>
    values.forEach((value, j) => {
      const address = value.split('/')[0]!;
      if (!eni.subnetIpv6Cidrs.some((cidr) => ipv6InCidr(address, cidr)))
        ctx.addIssue({
          code: 'custom',
          path: ['enis', i, field, j],
          message: `is outside the ENI's IPv6 subnets ${shownValue(eni.subnetIpv6Cidrs)}`,
        });
    });
  ipv6Field('ipv6s', eni.ipv6s);
  ipv6Field('ipv6Prefixes', eni.ipv6Prefixes);
}

/** Subnets of different ids are disjoint, and one subnet id has one CIDR (two ENIs may share a subnet). */
function subnetsDisjoint(enis: readonly Eni[], ctx: Ctx): void {
  enis.forEach((eni, i) => {
    const other = enis.findIndex(
      (e, k) =>
        k < i &&
        (e.subnetId === eni.subnetId
          ? e.subnetCidr !== eni.subnetCidr
          : ipv4CidrsOverlap(net(e.subnetCidr), net(eni.subnetCidr))),
    );
    if (other < 0) return;
    const them = enis[other]!;
    ctx.addIssue({
      code: 'custom',
      path: ['enis', i, 'subnetCidr'],
      message:
        them.subnetId === eni.subnetId
          ? `is not the CIDR of ${eni.subnetId} at enis[${other}], ${them.subnetCidr}`
          : `overlaps ${them.subnetCidr} (${them.subnetId}) at enis[${other}]; subnets are disjoint`,
    });
  });
}

/**
 * No address is held twice, on one ENI or two, as an address or inside a delegated prefix: EC2 assigns each once.
 * A sweep over the ranges sorted by start finds every clash in O(n log n), for the largest snapshot the schema allows.
 */
function addressesUnique(enis: readonly Eni[], ctx: Ctx): void {
  const held: Held[] = enis.flatMap((eni, i) => [
    ...eni.localIpv4s.map((text, j) => ({ range: v4(text), text, path: ['enis', i, 'localIpv4s', j] })),
    ...eni.ipv4Prefixes.map((text, j) => ({ range: net(text), text, path: ['enis', i, 'ipv4Prefixes', j] })),
  ]);
  held.sort((a, b) => a.range.base - b.range.base || issuePath(a.path).localeCompare(issuePath(b.path)));
  let widest: Held | undefined;
  for (const item of held) {
    if (widest !== undefined && ipv4CidrsOverlap(widest.range, item.range)) {
      ctx.addIssue({
        code: 'custom',
        path: item.path,
        message: `is also held at ${issuePath(widest.path)} (${widest.text}); EC2 assigns an address once`,
      });
    }
    const end = (r: Ipv4Cidr) => r.base + 2 ** (32 - r.bits);
    if (widest === undefined || end(item.range) > end(widest.range)) widest = item;
  }
  const seen = new Map<string, string>();
  for (const [i, eni] of enis.entries()) {
    for (const [j, text] of eni.ipv6s.entries()) {
      const key = normaliseIpv6(text)!;
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['enis', i, 'ipv6s', j], message: `is also held at ${first}` });
      else seen.set(key, issuePath(['enis', i, 'ipv6s', j]));
    }
  }
}

/** One MAC per ENI, one ENI per (network card, device) slot. */
function slotsUnique(enis: readonly Eni[], ctx: Ctx): void {
  const macs = new Set<string>();
  const slots = new Set<string>();
  enis.forEach((eni, i) => {
    if (macs.has(eni.mac))
      ctx.addIssue({ code: 'custom', path: ['enis', i, 'mac'], message: 'is the MAC of an earlier ENI too' });
    const slot = `${eni.networkCard}/${eni.deviceNumber}`;
    if (slots.has(slot))
      ctx.addIssue({
        code: 'custom',
        path: ['enis', i, 'deviceNumber'],
        message: `is taken on network card ${eni.networkCard} by an earlier ENI`,
      });
    macs.add(eni.mac);
    slots.add(slot);
  });
}

/** What no real instance can show, checked across fields once each field is valid on its own. */
function consistent(facts: Snapshot, ctx: Ctx): void {
  slotsUnique(facts.enis, ctx);
  for (const [i, eni] of facts.enis.entries()) eniWithinItsSubnet(eni, i, ctx);
  subnetsDisjoint(facts.enis, ctx);
  addressesUnique(facts.enis, ctx);
  const primary = facts.enis.find((e) => e.mac === facts.primaryMac);
  if (primary === undefined) {
    ctx.addIssue({ code: 'custom', path: ['primaryMac'], message: 'is the MAC of no ENI' });
  } else if (primary.localIpv4s[0] !== facts.localIpv4) {
    ctx.addIssue({
      code: 'custom',
      path: ['localIpv4'],
      message: `is not the primary ENI's first address ${primary.localIpv4s[0]}`,
    });
  }
}

export const NodeFacts = z
  .object({
    version: z.literal(1),
    instanceId: z.string().regex(/^i-[0-9a-f]+$/, 'an instance id such as i-0abc123'),
    instanceType: awsName('an instance type', 'm5.large').describe('IMDS `instance-type`, e.g. m5.large'),
    availabilityZone: awsName('an availability zone', 'us-west-2a').describe('IMDS `placement/availability-zone`'),
    region: awsName('a region', 'us-west-2').describe('IMDS `placement/region`'),
    primaryMac: mac.describe('IMDS `mac`: the primary ENI'),
    localIpv4: ipv4.describe('IMDS `local-ipv4`: the primary ENI primary address (SNAT source)'),
    enis: z.array(Eni).min(1).max(MAX_ENIS).describe('Every attached ENI (IMDS `network/interfaces/macs/`)'),
    iptablesMode: IptablesMode.default('nf_tables'),
  })
  .strict()
  // Only once every field is valid on its own: the cross-field checks rely on the values parsing.
  .superRefine(consistent, { when: (payload) => payload.issues.length === 0 });
export type NodeFacts = z.infer<typeof NodeFacts>;
/** A snapshot as written in a file: defaulted fields may be left out. */
export type NodeFactsInput = z.input<typeof NodeFacts>;

/** Raised for a node snapshot that does not match the schema; the message names every bad field. */
export class NodeFactsError extends Error {
  override readonly name = 'NodeFactsError';
}

/** Validates a parsed snapshot; `source` names it in the error (a file path or `IMDS`). */
export function parseNodeFacts(value: unknown, source: string): NodeFacts {
  const result = NodeFacts.safeParse(value, { error: plainMessages });
  if (result.success) return result.data;
  const lines = describeIssues(result.error, value).map((line) => `  ${line}`);
  throw new NodeFactsError(`invalid node facts from ${source}:\n${lines.join('\n')}`);
}

/** The JSON Schema of a snapshot file, checked in as `schema/node.schema.json`. */
export function nodeFactsJsonSchema(): unknown {
  return z.toJSONSchema(NodeFacts, { io: 'input', target: 'draft-2020-12' });
}

/** The reference's rule: `iptables --version` output containing "legacy" → legacy, anything else → nf_tables. */
export function iptablesModeFromVersion(versionOutput: string): IptablesMode {
  return versionOutput.includes('legacy') ? 'legacy' : 'nf_tables';
}

export function primaryEni(facts: NodeFacts): Eni {
  const eni = facts.enis.find((e) => e.mac === facts.primaryMac);
  if (eni === undefined) throw new NodeFactsError(`no ENI has the primary MAC ${facts.primaryMac}`);
  return eni;
}
