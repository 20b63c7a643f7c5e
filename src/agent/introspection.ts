/**
 * The introspection endpoint (reference `pkg/ipamd/introspect.go`, 127.0.0.1:61679): the reference's four paths in
 * its shapes, so its tooling keeps working, plus what the operator commands read (`status`, `explain`, `doctor`):
 * the effective config with provenance, pods and their addresses, the last host-plan sync, readiness, loops and the
 * pool per ENI. Everything is JSON and bounded (lists capped, one kernel-reading request at a time).
 *
 * It shows pod names, addresses and the configuration without authentication, so it listens on loopback unless the
 * operator asks for another address *and* says so (`--allow-remote-introspection`): a typo in
 * INTROSPECTION_BIND_ADDRESS must not publish the node's pod list to the VPC.
 */
import { changeLine } from '../apply/render.ts';
import { eniRouteTable } from '../compiler/host/context.ts';
import { describeSource } from '../compiler/settings/sources.ts';
import type { Ec2Api } from '../ipam/cloud/client.ts';
import type { ImdsClient } from '../ipam/cloud/imds.ts';
import type { Lease } from '../ipam/datastore.ts';
import { ipv4CidrAddresses } from '../lib/address.ts';
import { hostVethName } from '../lib/pod-wiring.ts';
import { type KubeletCapacity, runDoctor } from './doctor.ts';
import { type BindAddress, formatBindAddress, isLoopback, json, keepListening, type Reply } from './endpoint.ts';
import { checkHost, explainLease, leasesOf, parsePodRef } from './explain.ts';
import { poolFigures } from './pool-figures.ts';
import type { ExplainReply, StatusReply } from './replies.ts';
import type { AgentExtension, AgentView } from './view.ts';

/** Lists longer than this are cut (with `truncated: true`): the largest instances hold a few hundred pods. */
export const MAX_LISTED = 1_024;
const MAX_REPAIRS_KEPT = 32;

const REFERENCE_PATHS = ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings', '/v1/ipamd-env-settings'];
const OUR_PATHS = ['/v1/config', '/v1/pods', '/v1/plan', '/v1/status', '/v1/explain?pod=NAMESPACE/NAME', '/v1/doctor'];

export interface IntrospectionOptions {
  readonly bind: BindAddress;
  /** The operator's explicit consent to a non-loopback address. */
  readonly allowRemote: boolean;
  readonly imds: ImdsClient;
  /** The agent's EC2 client once it exists (doctor's subnet and leaked-ENI checks). */
  readonly ec2: () => Ec2Api | undefined;
  readonly onListening?: (address: BindAddress) => void;
  /** A listen that failed and is being retried. */
  readonly onError?: (message: string) => void;
}

/** PURE: refuses a non-loopback address the operator did not explicitly allow. */
export function checkIntrospectionBind(bind: BindAddress, allowRemote: boolean): void {
  if (!isLoopback(bind) && !allowRemote) {
    throw new Error(
      `INTROSPECTION_BIND_ADDRESS=${formatBindAddress(bind)} is not a loopback address: the introspection endpoint shows pods and configuration without authentication; pass --allow-remote-introspection to serve it there anyway`,
    );
  }
}

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** PURE: the network address and base64 mask bytes of a CIDR, as Go's net.IPNet marshals them. */
function ipNet(cidr: string): { IP: string; Mask: string } {
  const bits = Number(cidr.split('/')[1]);
  const mask = Buffer.alloc(4);
  mask.writeUInt32BE(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  return { IP: ipv4CidrAddresses(cidr)[0]!, Mask: mask.toString('base64') };
}

/** The reference's `/v1/enis`: keyed by network card, then ENI; container ids and interface names scrubbed as there. */
export function referenceEnis(view: AgentView): Record<string, unknown> {
  const { store } = view.engine;
  const leases = new Map(store.leases().map((l) => [l.ip, l]));
  const pool = poolFigures(view.engine.snapshot());
  const enis: Record<string, unknown> = {};
  for (const id of store.eniIds().toSorted()) {
    const eni = store.eni(id)!;
    const cidrs: Record<string, unknown> = {};
    for (const c of store.cidrs(id)) {
      const addresses: Record<string, unknown> = {};
      for (const ip of ipv4CidrAddresses(c.cidr)) {
        const lease = leases.get(ip);
        if (lease === undefined) continue;
        addresses[ip] = {
          Address: ip,
          IPAMKey: { networkName: lease.owner.networkName, containerID: '', ifName: '' },
          IPAMMetadata: lease.metadata,
          AssignedTime: new Date(Number(lease.assignedAtNs / 1_000_000n)).toISOString(),
          UnassignedTime: ZERO_TIME,
        };
      }
      cidrs[c.cidr] = { Cidr: ipNet(c.cidr), IPAddresses: addresses, IsPrefix: c.prefix, AddressFamily: '' };
    }
    enis[id] = {
      ID: id,
      IsPrimary: eni.primary,
      IsTrunk: false,
      IsEFA: false,
      DeviceNumber: eni.deviceNumber,
      AvailableIPv4Cidrs: cidrs,
      IPv6Cidrs: {},
      IsExcludedForPodIPs: false,
      RouteTableID: eniRouteTable(eni.deviceNumber, 0),
      SubnetID: eni.subnetId,
    };
  }
  // Multi-card ENIs are not managed, so every ENI is on card 0.
  return { 0: { TotalIPs: pool.total, AssignedIPs: pool.assigned, ENIs: enis } };
}

function pick(view: AgentView, keys: readonly string[]): Record<string, unknown> {
  const config = view.config() as unknown as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, config[k]]));
}

function podOf(view: AgentView, lease: Lease) {
  const ns = lease.metadata.k8sPodNamespace ?? '';
  const name = lease.metadata.k8sPodName ?? '';
  return {
    namespace: ns,
    name,
    ip: lease.ip,
    eniId: lease.eniId,
    deviceNumber: lease.deviceNumber,
    routeTable: lease.deviceNumber === 0 ? 'main' : eniRouteTable(lease.deviceNumber, 0),
    hostVeth: ns && name ? hostVethName(view.config().AWS_VPC_K8S_CNI_VETHPREFIX, ns, name) : null,
    containerId: lease.owner.containerId,
    ifName: lease.owner.ifName,
    network: lease.owner.networkName,
    assignedAt: new Date(Number(lease.assignedAtNs / 1_000_000n)).toISOString(),
  };
}

function capped<T>(items: readonly T[]): { items: T[]; truncated: boolean; total: number } {
  return { items: items.slice(0, MAX_LISTED), truncated: items.length > MAX_LISTED, total: items.length };
}

export function statusOf(
  view: AgentView,
  repairs: readonly { atMs: number; restored: readonly string[] }[],
): StatusReply {
  const readiness = view.readiness();
  const last = view.host.last;
  return {
    node: { name: view.nodeName, instanceId: view.instanceId, instanceType: view.instanceType },
    ready: readiness.ready,
    reason: readiness.reason,
    startedAt: iso(view.startedAtMs),
    timeToReadyMs: view.timeToReadyMs() ?? null,
    pool: poolFigures(view.engine.snapshot()),
    loops: view.loops().map((l) => ({
      name: l.name,
      periodMs: l.periodMs,
      runs: l.runs,
      failures: l.failures,
      consecutiveFailures: l.consecutiveFailures,
      lastOkAt: iso(l.lastOkAtMs),
      lastError: l.lastError ?? null,
      nextAt: iso(l.nextAtMs),
    })),
    pendingRecycle: view.pendingRecycle(),
    lastSync:
      last === undefined ? null : { changes: last.changes, enis: [...last.enis].toSorted(), pendingEnis: last.pending },
    recentRepairs: repairs.map((r) => ({ at: iso(r.atMs), restored: r.restored })),
  };
}

/** Serialises the requests that read the kernel: each runs ip, iptables-save and nft; a burst must not fork dozens. */
function oneAtATime(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return (work) => {
    const next = tail.then(work, work);
    tail = next.catch(() => undefined);
    return next;
  };
}

/** What the endpoint keeps from the bus: the last drift repairs and the Kubernetes side's kubelet finding. */
interface Heard {
  readonly repairs: { atMs: number; restored: readonly string[] }[];
  kubelet: KubeletCapacity | undefined;
}

export function introspectionHandler(
  view: AgentView,
  o: Pick<IntrospectionOptions, 'imds' | 'ec2'>,
  heard: Heard,
): (path: string, query: URLSearchParams) => Promise<Reply> {
  const serial = oneAtATime();
  return async (path, query) => {
    switch (path) {
      case '/v1/enis':
        return json(referenceEnis(view));
      case '/v1/eni-configs': {
        // As the reference: the node's ENIConfig name as a JSON string, 404 when there is none to name.
        const eniConfig = view.eniConfig();
        if (eniConfig !== undefined) return json(eniConfig.name);
        return view.config().AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG
          ? json({ error: 'the node has no ENIConfig (its label or annotation names none that exists)' }, 404)
          : json({ error: 'custom networking is off (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false)' }, 404);
      }
      case '/v1/networkutils-env-settings':
        return json(
          pick(view, [
            'AWS_VPC_K8S_CNI_CONNMARK',
            'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS',
            'AWS_VPC_K8S_CNI_EXTERNALSNAT',
            'AWS_EXTERNAL_SERVICE_CIDRS',
            'AWS_VPC_ENI_MTU',
            'AWS_VPC_K8S_CNI_VETHPREFIX',
            'AWS_VPC_CNI_NODE_PORT_SUPPORT',
            'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
          ]),
        );
      case '/v1/ipamd-env-settings':
        return json(
          pick(view, [
            'WARM_IP_TARGET',
            'WARM_ENI_TARGET',
            'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG',
            'AWS_MANAGE_ENIS_NON_SCHEDULABLE',
            'ENABLE_SUBNET_DISCOVERY',
          ]),
        );
      case '/v1/config':
        return json(
          Object.fromEntries(
            Object.entries(view.values()).map(([key, v]) => [
              key,
              { value: v.value, source: describeSource(v.source) },
            ]),
          ),
        );
      case '/v1/pods': {
        const pods = capped(view.engine.store.leases().map((l) => podOf(view, l)));
        return json({ pods: pods.items, truncated: pods.truncated, total: pods.total });
      }
      case '/v1/status':
        return json(statusOf(view, heard.repairs));
      case '/v1/plan': {
        const last = view.host.last;
        const check = await serial(() =>
          checkHost(view.host.runner, o.imds, view.config(), view.engine.store.leases()),
        );
        const pending = capped(check.changes.map(changeLine));
        return json({
          lastSync:
            last === undefined
              ? null
              : { applied: capped(last.applied.map(changeLine)).items, pendingEnis: last.pending },
          // What a sync now would change: empty when the kernel matches the plan.
          pending: pending.items,
          truncated: pending.truncated,
        });
      }
      case '/v1/explain': {
        const ref = parsePodRef(query.get('pod') ?? '');
        if (ref === undefined) return json({ error: 'pod=NAMESPACE/NAME is required (Kubernetes names)' }, 400);
        const leases = leasesOf(view.engine.store.leases(), ref.namespace, ref.name);
        if (leases.length === 0)
          return json({ error: `no address is assigned to pod ${ref.namespace}/${ref.name} on this node` }, 404);
        const check = await serial(() =>
          checkHost(view.host.runner, o.imds, view.config(), view.engine.store.leases()),
        );
        const reply: ExplainReply = { ...ref, interfaces: leases.map((l) => explainLease(view.config(), check, l)) };
        return json(reply);
      }
      case '/v1/doctor':
        return json(
          await serial(() =>
            runDoctor({
              runner: view.host.runner,
              config: view.config(),
              store: view.engine.store,
              policy: view.engine.policy,
              imds: o.imds,
              ec2: o.ec2(),
              instanceId: view.instanceId,
              repairs: heard.repairs.flatMap((r) => r.restored),
              kubelet: heard.kubelet,
            }),
          ),
        );
      default:
        return json({ AvailableCommands: [...REFERENCE_PATHS, ...OUR_PATHS] }, path === '/' ? 200 : 404);
    }
  };
}

export function introspectionExtension(o: IntrospectionOptions): AgentExtension {
  checkIntrospectionBind(o.bind, o.allowRemote);
  return {
    name: 'introspection',
    async start(view) {
      const heard: Heard = { repairs: [], kubelet: undefined };
      const unsubscribe = view.bus.subscribe((event) => {
        if (event.kind === 'pod-capacity') heard.kubelet = event;
        if (event.kind !== 'drift-repaired') return;
        heard.repairs.push({ atMs: Date.now(), restored: event.restored.slice(0, 64) });
        if (heard.repairs.length > MAX_REPAIRS_KEPT) heard.repairs.shift();
      });
      const listener = await keepListening(o.bind, introspectionHandler(view, o, heard), o);
      return {
        async stop() {
          unsubscribe();
          await listener.stop();
        },
      };
    },
  };
}
