/**
 * The agent's answers to the plugin: each socket request becomes one IPAM engine call. ADD waits (bounded) while the
 * pool can still grow, and answers only once the host network carries the address's ENI, so a pod is never wired to
 * an ENI whose route table does not exist yet. DEL is idempotent; GC releases what the runtime no longer lists.
 */
import { eniRouteTable } from '../compiler/host/context.ts';
import { type Lease, type Owner, RECOVERED_NETWORK } from '../ipam/datastore.ts';
import type { IpamEngine } from '../ipam/engine.ts';
import type { Assignment, Attachment, WireError } from '../ipc/protocol.ts';
import type { Handler } from '../ipc/server.ts';
import { hostVethName } from '../lib/pod-wiring.ts';
import type { ShortageReason } from '../lib/shortage.ts';
import type { AgentEvent, PodRef } from './bus.ts';

export interface AgentStatus {
  readonly ready: boolean;
  readonly message: string;
}

export interface HandlerDeps {
  readonly engine: IpamEngine;
  /** The VPC's CIDRs as IMDS lists them now (a CIDR can be associated while the agent runs). */
  readonly vpcCidrs: () => readonly string[];
  readonly vethPrefix: string;
  /** How long an ADD may wait for the pool to grow before it answers with the shortage. */
  readonly addWaitMs: number;
  readonly status: () => AgentStatus;
  /** Resolves once the host network carries this ENI (link up, route table, rules); rejects saying why not. */
  readonly eniReady: (eniId: string) => Promise<void>;
  /** Each ADD and DEL as it ends, with its latency (the agent's bus). */
  readonly publish?: (event: AgentEvent) => void;
}

/** The pod as the runtime named it (K8S_POD_NAMESPACE / K8S_POD_NAME in CNI_ARGS); a non-Kubernetes runtime sends none. */
function podOf(a: Attachment): PodRef | undefined {
  return a.podNamespace !== '' && a.podName !== '' ? { namespace: a.podNamespace, name: a.podName } : undefined;
}

function ownerOf(a: Attachment): Owner {
  return { networkName: a.networkName, containerId: a.containerId, ifName: a.ifName };
}

export function assignmentOf(lease: Lease, vpcCidrs: readonly string[]): Assignment {
  return {
    address: lease.ip,
    deviceNumber: lease.deviceNumber,
    // Multi-card ENIs are not managed yet, so every ENI is on card 0.
    routeTable: lease.deviceNumber === 0 ? null : eniRouteTable(lease.deviceNumber, 0),
    eniId: lease.eniId,
    vpcCidrs: [...vpcCidrs],
  };
}

const failure = (error: WireError) => ({ ok: false as const, error });

export function createHandler(deps: HandlerDeps): Handler {
  const { engine } = deps;
  const assignment = (lease: Lease) => assignmentOf(lease, deps.vpcCidrs());

  const publish = deps.publish ?? (() => {});

  const add = async (a: Attachment) => {
    const status = deps.status();
    if (!status.ready) {
      const shortage: ShortageReason = { code: 'NOT_READY', phase: status.message.slice(0, 256) };
      return failure({ kind: 'NO_ADDRESS', message: `the agent is not ready: ${status.message}`, shortage });
    }
    const result = await engine.assign(
      ownerOf(a),
      { k8sPodNamespace: a.podNamespace, k8sPodName: a.podName },
      { waitMs: deps.addWaitMs },
    );
    if (!result.ok) {
      return failure({ kind: 'NO_ADDRESS', message: `no address for ${a.containerId}`, shortage: result.reason });
    }
    try {
      await deps.eniReady(result.lease.eniId);
    } catch (error) {
      // The pod cannot be wired to an ENI the host does not carry: the address goes back rather than leak.
      await engine.release(ownerOf(a));
      return failure({ kind: 'INTERNAL', message: (error as Error).message.slice(0, 4096) });
    }
    return { ok: true as const, op: 'ADD' as const, assignment: assignment(result.lease) };
  };

  const del = async (a: Attachment) => {
    let released = await engine.release(ownerOf(a));
    // An owner recovered without a checkpoint is known by its host veth only, which the pod's names give.
    if (released === undefined && a.podNamespace !== '' && a.podName !== '') {
      const hostVeth = hostVethName(deps.vethPrefix, a.podNamespace, a.podName);
      released = await engine.release({
        networkName: RECOVERED_NETWORK,
        containerId: `route:${hostVeth}`,
        ifName: 'eth0',
      });
    }
    return { ok: true as const, op: 'DEL' as const, released: released === undefined ? null : assignment(released) };
  };

  /** Runs one ADD or DEL and publishes how it ended and how long it took, a throw included (then rethrown). */
  const timed = async <R extends { ok: true } | { ok: false; error: WireError }>(
    kind: 'add' | 'del',
    a: Attachment,
    run: (a: Attachment) => Promise<R>,
  ): Promise<R> => {
    const began = performance.now();
    const pod = podOf(a);
    try {
      const reply = await run(a);
      const ms = performance.now() - began;
      if (kind === 'del') publish({ kind, pod, ms, ok: reply.ok });
      else if (reply.ok) publish({ kind, pod, ms, ok: true });
      else {
        const { shortage, message } = reply.error;
        publish({ kind, pod, ms, ok: false, ...(shortage === undefined ? { error: message } : { shortage }) });
      }
      return reply;
    } catch (error) {
      const ms = performance.now() - began;
      publish(
        kind === 'del' ? { kind, pod, ms, ok: false } : { kind, pod, ms, ok: false, error: (error as Error).message },
      );
      throw error;
    }
  };

  return async (req) => {
    switch (req.op) {
      case 'ADD':
        return timed('add', req.attachment, add);
      case 'DEL':
        return timed('del', req.attachment, del);
      case 'CHECK': {
        const lease = engine.store.leaseOf(ownerOf(req.attachment));
        if (lease === undefined) {
          return failure({
            kind: 'NOT_FOUND',
            message: `the agent holds no address for ${req.attachment.containerId}`,
          });
        }
        return { ok: true, op: 'CHECK', assignment: assignment(lease) };
      }
      case 'GC': {
        const valid = new Set(req.valid.map((v) => `${v.containerId}/${v.ifName}`));
        const stale = engine.store
          .leases()
          .filter((l) => l.owner.networkName === req.networkName)
          .filter((l) => !valid.has(`${l.owner.containerId}/${l.owner.ifName}`));
        for (const lease of stale) await engine.release(lease.owner);
        return { ok: true, op: 'GC', released: stale.length };
      }
      case 'STATUS': {
        const status = deps.status();
        return { ok: true, op: 'STATUS', ready: status.ready, message: status.message };
      }
    }
  };
}
