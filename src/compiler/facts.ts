/**
 * Node facts: everything the host plan needs to know about the instance, as read from IMDS (`src/ipam/cloud/imds.ts`)
 * plus the Linux interface names found by MAC. The zod schema below IS the node snapshot schema (`--node FILE`);
 * `schema/node.schema.json` is generated from it and a test keeps the two identical.
 */
import { z } from 'zod';
import { normaliseIpv4Cidr, parseIpv4 } from '../lib/address.ts';

const mac = z
  .string()
  .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/, 'a lower-case MAC address such as 0a:1b:2c:3d:4e:5f')
  .describe('MAC address, lower case (the IMDS `network/interfaces/macs/<mac>/` key)');
// The regexes carry the shape into the JSON Schema; the refinements add what a regex says badly (octets ≤ 255,
// no host bits in a CIDR).
const ipv4 = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'an IPv4 address such as 10.0.1.5')
  .refine((s) => parseIpv4(s) !== undefined, 'an IPv4 address such as 10.0.1.5');
const ipv4Cidr = z
  .string()
  .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'an IPv4 CIDR such as 10.0.0.0/16')
  .refine((s) => normaliseIpv4Cidr(s) === s, 'a normalised IPv4 CIDR (no host bits) such as 10.0.0.0/16');
const ipv6 = z.string().regex(/^[0-9a-f:]+$/, 'an IPv6 address in lower case such as 2600:1f14::5');
const ipv6Cidr = z.string().regex(/^[0-9a-f:]+\/\d{1,3}$/, 'an IPv6 CIDR such as 2600:1f14:1:2::/64');

export const Eni = z
  .object({
    mac,
    deviceNumber: z.int().min(0).describe('IMDS `device-number`; 0 is the primary ENI on network card 0'),
    networkCard: z.int().min(0).default(0).describe('IMDS `network-card` (absent on single-card instances)'),
    interfaceId: z.string().regex(/^eni-[0-9a-f]+$/, 'an ENI id such as eni-0abc123'),
    subnetId: z.string().regex(/^subnet-[0-9a-f]+$/, 'a subnet id such as subnet-0abc123'),
    subnetCidr: ipv4Cidr.describe('IMDS `subnet-ipv4-cidr-block`'),
    subnetIpv6Cidrs: z.array(ipv6Cidr).default([]).describe('IMDS `subnet-ipv6-cidr-blocks`'),
    vpcCidrs: z.array(ipv4Cidr).min(1).describe('IMDS `vpc-ipv4-cidr-blocks`, in IMDS order'),
    localIpv4s: z.array(ipv4).min(1).describe('IMDS `local-ipv4s`; the first is the ENI primary address'),
    ipv4Prefixes: z.array(ipv4Cidr).default([]).describe('IMDS `ipv4-prefix` (prefix delegation)'),
    ipv6s: z.array(ipv6).default([]).describe('IMDS `ipv6s`'),
    ipv6Prefixes: z.array(ipv6Cidr).default([]).describe('IMDS `ipv6-prefix` (IPv6 prefix delegation)'),
    interfaceName: z
      .string()
      .regex(/^[^\s/]{1,15}$/, 'a Linux interface name')
      .optional()
      .describe('Linux interface name found by MAC in the live kernel; absent = not resolved yet'),
  })
  .strict();
export type Eni = z.infer<typeof Eni>;

export const IptablesMode = z
  .enum(['nf_tables', 'legacy'])
  .describe('Backend of the iptables binary on the node, from `iptables --version`; selects the connmark backend');
export type IptablesMode = z.infer<typeof IptablesMode>;

export const NodeFacts = z
  .object({
    version: z.literal(1),
    instanceId: z.string().regex(/^i-[0-9a-f]+$/, 'an instance id such as i-0abc123'),
    instanceType: z.string().min(1).describe('IMDS `instance-type`, e.g. m5.large'),
    availabilityZone: z.string().min(1).describe('IMDS `placement/availability-zone`'),
    region: z.string().min(1).describe('IMDS `placement/region`'),
    primaryMac: mac.describe('IMDS `mac`: the primary ENI'),
    localIpv4: ipv4.describe('IMDS `local-ipv4`: the primary ENI primary address (SNAT source)'),
    enis: z.array(Eni).min(1).describe('Every attached ENI (IMDS `network/interfaces/macs/`)'),
    iptablesMode: IptablesMode.default('nf_tables'),
  })
  .strict()
  .superRefine((facts, ctx) => {
    const macs = new Set<string>();
    const slots = new Set<string>();
    facts.enis.forEach((eni, i) => {
      if (macs.has(eni.mac))
        ctx.addIssue({ code: 'custom', path: ['enis', i, 'mac'], message: `duplicate MAC ${eni.mac}` });
      const slot = `${eni.networkCard}/${eni.deviceNumber}`;
      if (slots.has(slot))
        ctx.addIssue({ code: 'custom', path: ['enis', i], message: `two ENIs on network card/device ${slot}` });
      macs.add(eni.mac);
      slots.add(slot);
    });
    const primary = facts.enis.find((e) => e.mac === facts.primaryMac);
    if (primary === undefined) {
      ctx.addIssue({ code: 'custom', path: ['primaryMac'], message: `no ENI has the primary MAC ${facts.primaryMac}` });
    } else if (primary.localIpv4s[0] !== facts.localIpv4) {
      ctx.addIssue({
        code: 'custom',
        path: ['localIpv4'],
        message: `local-ipv4 ${facts.localIpv4} is not the primary ENI's first address ${primary.localIpv4s[0]}`,
      });
    }
  });
export type NodeFacts = z.infer<typeof NodeFacts>;
/** A snapshot as written in a file: defaulted fields may be left out. */
export type NodeFactsInput = z.input<typeof NodeFacts>;

/** Raised for a node snapshot that does not match the schema; the message names every bad field. */
export class NodeFactsError extends Error {
  override readonly name = 'NodeFactsError';
}

/** Validates a parsed snapshot; `source` names it in the error (a file path or `IMDS`). */
export function parseNodeFacts(value: unknown, source: string): NodeFacts {
  const result = NodeFacts.safeParse(value);
  if (result.success) return result.data;
  throw new NodeFactsError(`invalid node facts from ${source}:\n${z.prettifyError(result.error)}`);
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
