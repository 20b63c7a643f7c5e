import { z } from 'zod';
import raw from './instance-limits.json' with { type: 'json' };

/**
 * Networking limits of EC2 instance types (public DescribeInstanceTypes data, as carried by the Amazon VPC CNI
 * v1.23.1). New types appear monthly: callers must treat a miss as "ask EC2", never as a reason to refuse to start.
 */
export const InstanceLimitsSchema = z.object({
  eniLimit: z.number().int().positive(),
  ipv4Limit: z.number().int().positive(),
  defaultNetworkCardIndex: z.number().int().nonnegative(),
  networkCards: z.array(z.object({ networkCardIndex: z.number().int(), maximumNetworkInterfaces: z.number().int() })),
  hypervisorType: z.string(),
  isBareMetal: z.boolean(),
});

export type InstanceTypeLimits = z.infer<typeof InstanceLimitsSchema>;

let table: ReadonlyMap<string, InstanceTypeLimits> | undefined;

function limitsTable(): ReadonlyMap<string, InstanceTypeLimits> {
  table ??= new Map(Object.entries(z.record(z.string(), InstanceLimitsSchema).parse(raw)));
  return table;
}

export function instanceTypeLimits(instanceType: string): InstanceTypeLimits | undefined {
  return limitsTable().get(instanceType);
}
