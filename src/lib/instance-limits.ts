/**
 * What the agent, the CLI and the EC2 simulator know about an instance type's networking, as one type with one
 * schema; the table itself is src/data/instance-limits.ts. A leaf, so the pure IPAM policy can take limits as input.
 */
import * as z from 'zod';

export const InstanceLimitsSchema = z.object({
  /** ENIs the instance can attach (all network cards). */
  eniLimit: z.number().int().positive(),
  /** IPv4 addresses per ENI, the primary included. */
  ipv4Limit: z.number().int().positive(),
  defaultNetworkCardIndex: z.number().int().nonnegative(),
  networkCards: z.array(z.object({ networkCardIndex: z.number().int(), maximumNetworkInterfaces: z.number().int() })),
  /** `nitro`, `xen`, or `unknown` where EC2 does not say (bare metal). */
  hypervisorType: z.string(),
  isBareMetal: z.boolean(),
});

export type InstanceLimits = z.infer<typeof InstanceLimitsSchema>;

/** Prefix delegation (/28s on ENIs) needs the Nitro system or bare metal, as EC2 enforces it. */
export function prefixDelegationSupported(limits: Pick<InstanceLimits, 'hypervisorType' | 'isBareMetal'>): boolean {
  return limits.hypervisorType === 'nitro' || limits.isBareMetal;
}

/** EC2 publishes the same per-interface count for IPv6 as for IPv4 on current types; the table has only IPv4. */
export function ipv6Limit(limits: Pick<InstanceLimits, 'ipv4Limit'>): number {
  return limits.ipv4Limit;
}
