/**
 * Why a pod did not get an address: a closed set of codes, each with the numbers an operator needs
 * (`ENI_LIMIT(3/3)` rather than "failed to assign an IP address to container"). The same value becomes the CNI ADD
 * error and the pod Event, so it is data first and text second.
 */
export type ShortageReason =
  | { readonly code: 'NOT_READY'; readonly phase: string }
  | { readonly code: 'SUBNET_EXHAUSTED'; readonly subnetId: string; readonly free: number; readonly prefix: boolean }
  | {
      readonly code: 'ENI_LIMIT';
      readonly enis: number;
      readonly maxEnis: number;
      readonly slotsUsed: number;
      readonly slots: number;
    }
  | { readonly code: 'MAX_PODS'; readonly addresses: number; readonly maxPods: number }
  | { readonly code: 'EC2_THROTTLED'; readonly retryInMs: number }
  | { readonly code: 'EC2_ERROR'; readonly errorCode: string; readonly message: string }
  | { readonly code: 'COOLDOWN'; readonly cooling: number; readonly nextFreeInMs: number }
  | { readonly code: 'IMDS_SYNC_PENDING'; readonly eniId: string; readonly waitedMs: number }
  | { readonly code: 'POOL_GROWING'; readonly requested: number };

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
