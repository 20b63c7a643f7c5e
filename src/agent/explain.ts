/**
 * `vpc-cni explain pod`, the agent's side: what IPAM holds for a pod (address, ENI, route table), what the host plan
 * wants for it (its route and rules, the SNAT path its traffic takes) and whether the kernel has exactly that now. The
 * plan is compiled afresh with the pods IPAM holds (a pod wired since the last sync is in it) and compared with the
 * live state by the applier's own diff, so "matches" means what the next sync would find: nothing to change.
 */
import type { ChangeSet } from '../apply/diff.ts';
import { diff } from '../apply/diff.ts';
import { readForPlan } from '../apply/read.ts';
import { changeLine } from '../apply/render.ts';
import type { Runner } from '../apply/run.ts';
import { compileHostPlan } from '../compiler/compile.ts';
import type { NodeFacts } from '../compiler/facts.ts';
import { eniRouteTable } from '../compiler/host/context.ts';
import { SNAT_CHAIN } from '../compiler/host/names.ts';
import type { HostPlan, PlanObject } from '../compiler/plan.ts';
import { podAssignments } from '../compiler/pod-assignments.ts';
import { describe } from '../compiler/render/index.ts';
import type { Config } from '../compiler/settings/index.ts';
import { type ImdsClient, readNodeFacts } from '../ipam/cloud/imds.ts';
import type { Lease } from '../ipam/datastore.ts';
import { hostVethName } from '../lib/pod-wiring.ts';
import { listLinks, withInterfaceNames } from '../node/host-facts.ts';
import type { PodInterface } from './replies.ts';

/** The plan for the node as it is now, and how the kernel differs from it. */
export interface HostCheck {
  readonly facts: NodeFacts;
  readonly plan: HostPlan;
  readonly changes: ChangeSet;
}

/**
 * Compiles the host plan as a sync would now (the node read from IMDS afresh, ENIs named by their links, every pod
 * IPAM holds) and diffs it against the kernel; read only, so no lock is needed.
 */
export async function checkHost(
  runner: Runner,
  imds: ImdsClient,
  config: Config,
  leases: readonly Lease[],
): Promise<HostCheck> {
  const named = withInterfaceNames(await readNodeFacts(imds), await listLinks(runner)).facts;
  // An ENI whose link has not appeared yet is left out, as the sync leaves it out.
  const facts = { ...named, enis: named.enis.filter((e) => e.interfaceName !== undefined) };
  const { pods } = podAssignments(leases, facts, config.AWS_VPC_K8S_CNI_VETHPREFIX);
  const plan = compileHostPlan(config, facts, pods);
  return { facts, plan, changes: diff(plan, await readForPlan(runner, plan)) };
}

/** PURE: whether a plan object is about this pod's address or host veth. */
function concernsPod(object: PlanObject, ip: string, veth: string): boolean {
  const host = `${ip}/32`;
  switch (object.kind) {
    case 'route':
    case 'absent-route':
      return object.dst === host || object.dst === ip || object.dev === veth;
    case 'rule':
    case 'absent-rule':
      return object.from === host || object.to === host || object.iif === veth;
    case 'link':
      return object.name === veth;
    default:
      return false;
  }
}

/** PURE: the SNAT path's objects (the nat chain the reference calls AWS-SNAT-CHAIN-0 and its POSTROUTING jump). */
function onSnatPath(object: PlanObject): boolean {
  return (
    object.kind === 'iptables-rule' &&
    object.table === 'nat' &&
    (object.chain === SNAT_CHAIN || object.args.includes(SNAT_CHAIN))
  );
}

function planObjects(plan: HostPlan): PlanObject[] {
  return [...plan.routes, ...plan.absentRoutes, ...plan.rules, ...plan.links];
}

/** PURE: the SNAT path of a pod, in words, from the configuration and the node's facts. */
export function snatPath(config: Config, facts: NodeFacts, lease: Lease): string[] {
  const primary = facts.enis.find((e) => e.deviceNumber === 0 && e.networkCard === 0) ?? facts.enis[0];
  const vpc = primary?.vpcCidrs ?? [];
  const out =
    lease.deviceNumber === 0
      ? `the primary ENI ${lease.eniId}`
      : `ENI ${lease.eniId} (table ${eniRouteTable(lease.deviceNumber, 0)})`;
  const lines = [`to the VPC (${vpc.join(', ') || 'no CIDR known'}): from ${lease.ip} unchanged, out through ${out}`];
  const exclusions = config.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS;
  if (exclusions.length > 0)
    lines.push(`to ${exclusions.join(', ')} (AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS): from ${lease.ip} unchanged`);
  if (config.AWS_VPC_K8S_CNI_EXTERNALSNAT) {
    lines.push(
      `elsewhere: from ${lease.ip} unchanged (AWS_VPC_K8S_CNI_EXTERNALSNAT=true: a NAT gateway translates), out through ${out}`,
    );
  } else {
    const random =
      config.AWS_VPC_K8S_CNI_RANDOMIZESNAT === 'none' ? '' : ` (ports ${config.AWS_VPC_K8S_CNI_RANDOMIZESNAT})`;
    lines.push(
      `elsewhere: SNAT to ${facts.localIpv4}${random} by ${SNAT_CHAIN}, out through the primary ENI; the connmark sends replies back through the main table`,
    );
  }
  return lines;
}

/** PURE: one lease explained against a checked host. */
export function explainLease(config: Config, check: HostCheck, lease: Lease): PodInterface {
  const ns = lease.metadata.k8sPodNamespace ?? '';
  const name = lease.metadata.k8sPodName ?? '';
  const veth = hostVethName(config.AWS_VPC_K8S_CNI_VETHPREFIX, ns, name);
  const mine = (o: PlanObject) => concernsPod(o, lease.ip, veth) || onSnatPath(o);
  const differences = check.changes.filter((c) => mine(c.object)).map(changeLine);
  return {
    ip: lease.ip,
    eniId: lease.eniId,
    deviceNumber: lease.deviceNumber,
    routeTable: lease.deviceNumber === 0 ? 'main' : eniRouteTable(lease.deviceNumber, 0),
    hostVeth: veth,
    containerId: lease.owner.containerId,
    ifName: lease.owner.ifName,
    assignedAt: new Date(Number(lease.assignedAtNs / 1_000_000n)).toISOString(),
    planned: planObjects(check.plan)
      .filter((o) => concernsPod(o, lease.ip, veth))
      .map(describe),
    snat: snatPath(config, check.facts, lease),
    kernelMatches: differences.length === 0,
    differences,
  };
}

/** PURE: a pod reference as the commands take it, `NAMESPACE/NAME`. */
export function parsePodRef(text: string): { namespace: string; name: string } | undefined {
  const match = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?)$/.exec(text);
  return match === null ? undefined : { namespace: match[1]!, name: match[3]! };
}

export function leasesOf(leases: readonly Lease[], namespace: string, name: string): Lease[] {
  return leases.filter((l) => l.metadata.k8sPodNamespace === namespace && l.metadata.k8sPodName === name);
}
