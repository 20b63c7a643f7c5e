/**
 * The versioned request/response protocol between the `aws-cni` plugin and the agent over a Unix socket. One zod schema
 * for both ends, so a field the plugin sends is a field the agent parses. The plugin imports this folder and nothing
 * heavier, because its start-up is paid once per pod.
 */
import * as z from 'zod';
import { isIpv4, parseIpv4Network } from '../lib/address.ts';
import { ShortageReason } from '../lib/shortage.ts';

/** Bumped on any incompatible change; a peer with another number gets a VERSION_MISMATCH error naming both. */
export const PROTOCOL_VERSION = 1;
/** One message, request or response, including its newline. Larger is refused before parsing. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

// Identifiers that reach the kernel or file paths: the CNI spec's container-id alphabet, no `..`, no spaces.
const containerId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
  .refine((s) => !s.includes('..'), 'must not contain ..');
const ifName = z
  .string()
  .min(1)
  .max(15)
  .regex(/^[A-Za-z0-9_.-]+$/)
  .refine((s) => s !== '.' && s !== '..', 'must not be . or ..');
const netns = z
  .string()
  .max(256)
  .regex(/^(\/proc\/[0-9]+(\/task\/[0-9]+)?\/ns\/net|\/(var\/)?run\/netns\/[A-Za-z0-9_.-]+)?$/)
  .refine((s) => !s.includes('..'), 'must not contain ..');
const k8sName = z
  .string()
  .max(253)
  .regex(/^[A-Za-z0-9._-]*$/);
const ipv4 = z.string().max(15).refine(isIpv4, 'an IPv4 address such as 10.0.1.5');
const cidr4 = z
  .string()
  .max(18)
  .refine((s) => parseIpv4Network(s) !== undefined, 'an IPv4 network such as 10.0.0.0/16 (no host bits)');

/** The pod an attachment belongs to, as the runtime named it. */
export const Attachment = z.strictObject({
  containerId,
  netns,
  ifName,
  podNamespace: k8sName,
  podName: k8sName,
  infraContainerId: z.union([containerId, z.literal('')]),
  networkName: z.string().min(1).max(128),
});
export type Attachment = z.infer<typeof Attachment>;

const header = { v: z.number().int(), id: z.number().int().nonnegative() };

export const Request = z.discriminatedUnion('op', [
  z.strictObject({ ...header, op: z.literal('ADD'), attachment: Attachment }),
  z.strictObject({ ...header, op: z.literal('DEL'), attachment: Attachment, reason: z.string().max(64) }),
  z.strictObject({ ...header, op: z.literal('CHECK'), attachment: Attachment }),
  z.strictObject({
    ...header,
    op: z.literal('GC'),
    networkName: z.string().min(1).max(128),
    valid: z.array(z.strictObject({ containerId, ifName })).max(65536),
  }),
  z.strictObject({ ...header, op: z.literal('STATUS') }),
]);
export type Request = z.infer<typeof Request>;
export type Op = Request['op'];

/** What the plugin needs to wire a pod: the address and where its packets leave the node. */
export const Assignment = z.strictObject({
  address: ipv4,
  /** 0 for the primary ENI. */
  deviceNumber: z.number().int().min(0).max(1024),
  /** Route table of the ENI for the from-pod rule (priority 1536); null for the primary ENI (main table). */
  routeTable: z.number().int().min(2).max(0xfffffffe).nullable(),
  eniId: z.string().max(64),
  vpcCidrs: z.array(cidr4).max(64),
});
export type Assignment = z.infer<typeof Assignment>;

/** A failure the peer can act on; `shortage` is set when no address could be had. */
export const WireError = z.strictObject({
  kind: z.enum(['VERSION_MISMATCH', 'MALFORMED', 'TOO_LARGE', 'TIMEOUT', 'NO_ADDRESS', 'NOT_FOUND', 'INTERNAL']),
  message: z.string().max(4096),
  shortage: ShortageReason.optional(),
  /** Set on VERSION_MISMATCH: the version the answering side speaks. */
  serverVersion: z.number().int().optional(),
});
export type WireError = z.infer<typeof WireError>;

const ok = { ...header, ok: z.literal(true) };
export const Response = z.union([
  z.strictObject({ ...ok, op: z.literal('ADD'), assignment: Assignment }),
  z.strictObject({ ...ok, op: z.literal('DEL'), released: Assignment.nullable() }),
  z.strictObject({ ...ok, op: z.literal('CHECK'), assignment: Assignment }),
  z.strictObject({ ...ok, op: z.literal('GC'), released: z.number().int().nonnegative() }),
  z.strictObject({ ...ok, op: z.literal('STATUS'), ready: z.boolean(), message: z.string().max(4096) }),
  z.strictObject({ ...header, ok: z.literal(false), error: WireError }),
]);
export type Response = z.infer<typeof Response>;

/** The success response for one request op. */
export type ResponseFor<O extends Op> = Extract<Response, { ok: true; op: O }>;
