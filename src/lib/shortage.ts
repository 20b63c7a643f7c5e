/**
 * Why a pod did not get an address: a closed set of codes, each with the numbers an operator needs
 * (`ENI_LIMIT(3/3)` rather than "failed to assign an IP address to container"). One definition for the IPAM policy
 * that decides it, the socket protocol that carries it to the CNI plugin (parsed there, as every boundary is) and the
 * plugin that prints it: data first, text second.
 */
import * as z from 'zod';

export const ShortageReason = z.discriminatedUnion('code', [
  z.strictObject({ code: z.literal('NOT_READY'), phase: z.string().max(256) }),
  z.strictObject({
    code: z.literal('SUBNET_EXHAUSTED'),
    subnetId: z.string().max(64),
    free: z.number(),
    prefix: z.boolean(),
  }),
  z.strictObject({
    code: z.literal('ENI_LIMIT'),
    enis: z.number(),
    maxEnis: z.number(),
    slotsUsed: z.number(),
    slots: z.number(),
  }),
  z.strictObject({ code: z.literal('MAX_PODS'), addresses: z.number(), maxPods: z.number() }),
  z.strictObject({ code: z.literal('EC2_THROTTLED'), retryInMs: z.number() }),
  z.strictObject({ code: z.literal('EC2_ERROR'), errorCode: z.string().max(256), message: z.string().max(1024) }),
  z.strictObject({ code: z.literal('COOLDOWN'), cooling: z.number(), nextFreeInMs: z.number() }),
  z.strictObject({ code: z.literal('IMDS_SYNC_PENDING'), eniId: z.string().max(64), waitedMs: z.number() }),
  z.strictObject({ code: z.literal('POOL_GROWING'), requested: z.number() }),
]);
export type ShortageReason = z.infer<typeof ShortageReason>;

function seconds(ms: number): string {
  return `${Math.ceil(ms / 1000)}s`;
}

/** One line, code first: `ENI_LIMIT(3/3 ENIs, 9/9 slots)`. */
export function formatReason(r: ShortageReason): string {
  switch (r.code) {
    case 'NOT_READY':
      return `NOT_READY(${r.phase})`;
    case 'SUBNET_EXHAUSTED':
      return `SUBNET_EXHAUSTED(${r.subnetId}, free=${r.free}${r.prefix ? ', no free /28' : ''})`;
    case 'ENI_LIMIT':
      return `ENI_LIMIT(${r.enis}/${r.maxEnis} ENIs, ${r.slotsUsed}/${r.slots} slots)`;
    case 'MAX_PODS':
      return `MAX_PODS(${r.addresses} addresses >= max-pods ${r.maxPods})`;
    case 'EC2_THROTTLED':
      return `EC2_THROTTLED(retry in ${seconds(r.retryInMs)})`;
    case 'EC2_ERROR':
      return `EC2_ERROR(${r.errorCode}: ${r.message})`;
    case 'COOLDOWN':
      return `COOLDOWN(${r.cooling} IPs cooling, next free in ${seconds(r.nextFreeInMs)})`;
    case 'IMDS_SYNC_PENDING':
      return `IMDS_SYNC_PENDING(${r.eniId}, ${seconds(r.waitedMs)})`;
    case 'POOL_GROWING':
      return `POOL_GROWING(${r.requested} requested)`;
  }
}
