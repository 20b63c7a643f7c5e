/**
 * The names and numbers of a pod's wiring that both the `aws-cni` plugin (which creates it) and the host-plan compiler
 * (which must plan it unchanged) spell. A leaf: the plugin may not import the compiler, so they live here, copied from
 * the reference (Amazon VPC CNI v1.23) so that a node wired by aws-node plans zero changes.
 */
import { createHash } from 'node:crypto';

/**
 * The reference's host veth name: prefix + the first 11 hex digits of sha1("<namespace>.<name>"); for the extra
 * interfaces of multi-NIC pods (index > 0) the pod name becomes "<name>.<index>".
 */
export function hostVethName(prefix: string, namespace: string, podName: string, index = 0): string {
  const name = index > 0 ? `${podName}.${index}` : podName;
  return prefix + createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11);
}

/** `ip rule` priorities of a pod's host side. */
export const PodRulePriority = {
  /** `to <pod IP> lookup main`: traffic to a pod always uses the main table (its /32 veth route). */
  toPod: 512,
  /** `from <pod IP> lookup <ENI table>`: pods on a secondary ENI leave through that ENI. */
  fromPod: 1536,
} as const;

/** The pod's IPv4 gateway: a link-local address answered by the host veth's MAC through a permanent neighbour. */
export const POD_GATEWAY_V4 = '169.254.1.1';
