/**
 * The agent as the plugin sees it: one request over the socket, and its failures turned into CNI errors an operator can
 * act on. A shortage keeps its IPAM reason code and numbers in `details`.
 */
import { type CallHooks, call, IpcError } from '../ipc/client.ts';
import type { Request, ResponseFor, WireError } from '../ipc/protocol.ts';
import type { NetConf } from './netconf.ts';
import { CniError, ErrorCode } from './spec.ts';

type Body<O extends Request['op']> = Omit<Extract<Request, { op: O }>, 'v' | 'id' | 'op'>;
type ShortageReason = NonNullable<WireError['shortage']>;

/** Reasons that pass without anyone acting: the runtime should retry (code 11), not report a broken node. */
const TRANSIENT = new Set(['NOT_READY', 'EC2_THROTTLED', 'COOLDOWN', 'IMDS_SYNC_PENDING', 'POOL_GROWING']);

export function shortageSentence(reason: ShortageReason): string {
  switch (reason.code) {
    case 'NOT_READY':
      return `the agent is not ready to hand out addresses yet (${reason.phase}); the runtime will retry`;
    case 'SUBNET_EXHAUSTED':
      return `subnet ${reason.subnetId} has ${reason.free} free ${reason.prefix ? '/28 prefixes' : 'addresses'} left; add a subnet with room (ENIConfig custom networking) or free addresses in it`;
    case 'ENI_LIMIT':
      return `the node has ${reason.enis} of ${reason.maxEnis} ENIs and ${reason.slotsUsed} of ${reason.slots} address slots in use; this instance type holds no more pods (use a larger type or ENABLE_PREFIX_DELEGATION)`;
    case 'MAX_PODS':
      return `the node already holds ${reason.addresses} addresses for its max-pods of ${reason.maxPods}; lower the pods scheduled here or raise max-pods with the instance's capacity`;
    case 'EC2_THROTTLED':
      return `EC2 is throttling this node's requests; the runtime should retry in about ${Math.ceil(reason.retryInMs / 1000)} s`;
    case 'EC2_ERROR':
      return `EC2 refused the node's request: ${reason.errorCode}: ${reason.message}`;
    case 'COOLDOWN':
      return `${reason.cooling} addresses are cooling down (IP_COOLDOWN_PERIOD); the next one is free in ${Math.ceil(reason.nextFreeInMs / 1000)} s`;
    case 'IMDS_SYNC_PENDING':
      return `ENI ${reason.eniId} is attached but IMDS does not show it yet (${reason.waitedMs} ms so far); the runtime will retry`;
    case 'POOL_GROWING':
      return `the address pool is growing (${reason.requested} addresses requested from EC2); the runtime will retry`;
  }
}

export function toCniError(error: unknown, op: string): CniError {
  if (!(error instanceof IpcError)) {
    return new CniError(ErrorCode.agentFailure, `${op}: talking to the agent failed: ${String(error).slice(0, 512)}`);
  }
  const shortage = error.wire?.shortage;
  if (error.kind === 'NO_ADDRESS' && shortage !== undefined) {
    const code = TRANSIENT.has(shortage.code) ? ErrorCode.tryAgainLater : ErrorCode.noAddress;
    return new CniError(code, `no address for the pod: ${shortageSentence(shortage)}`, JSON.stringify(shortage));
  }
  if (error.kind === 'UNREACHABLE' || error.kind === 'TIMEOUT') {
    return new CniError(
      ErrorCode.tryAgainLater,
      `${op}: ${error.message}; is \`vpc-cni agent\` running and ready on this node?`,
      JSON.stringify({ kind: error.kind }),
    );
  }
  if (error.kind === 'NOT_FOUND') return new CniError(ErrorCode.unknownContainer, `${op}: ${error.message}`);
  return new CniError(
    ErrorCode.agentFailure,
    `${op}: the agent answered ${error.kind}: ${error.message}`,
    JSON.stringify({ kind: error.kind }),
  );
}

export async function ask<O extends Request['op']>(
  conf: NetConf,
  op: O,
  body: Body<O>,
  hooks?: CallHooks,
): Promise<ResponseFor<O>> {
  // `call` checks that the answer's op is the request's, so the narrowing below holds.
  const request = { op, ...body } as Parameters<typeof call>[1];
  return (await call(conf.agentSocket, request, conf.agentTimeoutMs, hooks)) as ResponseFor<O>;
}
