/**
 * The pods a host plan carries, from IPAM's records (the agent's datastore or the checkpoint at
 * AWS_VPC_K8S_CNI_BACKING_STORE): each address becomes the /32 route to its host veth and its rules, with the route
 * table of the ENI that holds the address as the node facts show it. Pure: `plan` and the agent share it, so a node
 * whose pods are wired plans no changes.
 */
import { ipv4InCidr, isIpv4 } from '../lib/address.ts';
import { hostVethName } from '../lib/pod-wiring.ts';
import type { NodeFacts } from './facts.ts';
import { eniRouteTable, type PodAssignment } from './host/context.ts';

/** What IPAM knows of one address; the structural subset of a lease or a checkpoint entry. */
export interface PodRecord {
  readonly ip: string;
  readonly owner: { readonly networkName: string; readonly containerId: string };
  readonly metadata: { readonly k8sPodNamespace?: string; readonly k8sPodName?: string };
  /** The ENI IPAM holds the address on (the agent's leases know it; a checkpoint entry does not). */
  readonly eniId?: string;
}

/** The network name and container id prefix of owners recovered from kernel routes (IPAM's `_recovered`). */
const RECOVERED = { networkName: '_recovered', prefix: 'route:' };

export interface PodAssignments {
  readonly pods: PodAssignment[];
  /** Records that are not IPv4 or whose address no ENI holds: left out of the plan. */
  readonly skipped: readonly { readonly ip: string; readonly reason: string }[];
}

/**
 * The host veth the plugin named for this record. aws-node's plugin names it from CNI_ARGS' K8S_POD_NAMESPACE and
 * K8S_POD_NAME, an absent one being "", and ipamd stores the same two values as metadata, `omitempty` (reference
 * ipam §4.3, host-network §3.1): a record lacking a name is a pod wired under `sha1("<ns>.")` or `sha1(".")`, not
 * one without a veth. Left out of the plan, its rules and route (priorities and a veth prefix we own) would be
 * deleted under a running pod.
 */
function hostVethOf(r: PodRecord, vethPrefix: string): string {
  if (r.owner.networkName === RECOVERED.networkName && r.owner.containerId.startsWith(RECOVERED.prefix)) {
    return r.owner.containerId.slice(RECOVERED.prefix.length);
  }
  return hostVethName(vethPrefix, r.metadata.k8sPodNamespace ?? '', r.metadata.k8sPodName ?? '');
}

/**
 * The route table of the ENI holding the address. IPAM's own record of the ENI wins: IMDS lists a just-assigned
 * address only seconds later, and a plan made from IMDS alone in that window would drop the pod and delete the route
 * and rules the plugin just wired. Without IPAM's ENI (a checkpoint read by `plan`), IMDS's addresses decide.
 */
function tableOf(r: PodRecord, facts: NodeFacts): number | undefined {
  const eni =
    r.eniId === undefined
      ? facts.enis.find(
          (e) => e.localIpv4s.slice(1).includes(r.ip) || e.ipv4Prefixes.some((prefix) => ipv4InCidr(r.ip, prefix)),
        )
      : facts.enis.find((e) => e.interfaceId === r.eniId);
  return eni === undefined ? undefined : eniRouteTable(eni.deviceNumber, eni.networkCard);
}

export function podAssignments(records: readonly PodRecord[], facts: NodeFacts, vethPrefix: string): PodAssignments {
  const pods: PodAssignment[] = [];
  const skipped: { ip: string; reason: string }[] = [];
  for (const r of records) {
    if (!isIpv4(r.ip)) {
      skipped.push({ ip: r.ip, reason: 'not an IPv4 address' });
      continue;
    }
    const hostVeth = hostVethOf(r, vethPrefix);
    const eniTable = tableOf(r, facts);
    if (eniTable === undefined) {
      skipped.push({
        ip: r.ip,
        reason:
          r.eniId === undefined
            ? 'no ENI of the node holds it (IMDS may not show it yet)'
            : `its ENI ${r.eniId} is not on the node yet`,
      });
      continue;
    }
    pods.push({ ip: r.ip, hostVeth, eniTable });
  }
  return { pods, skipped };
}
