import { z } from 'zod';
import { type InstanceLimits, InstanceLimitsSchema } from '../lib/instance-limits.ts';
import raw from './instance-limits.json' with { type: 'json' };

/**
 * Networking limits of EC2 instance types (public DescribeInstanceTypes data, as carried by the Amazon VPC CNI
 * v1.23.1), bundled into the program. New types appear monthly: callers must treat a miss as "ask EC2", never as a
 * reason to refuse to start.
 */
let table: ReadonlyMap<string, InstanceLimits> | undefined;

function limitsTable(): ReadonlyMap<string, InstanceLimits> {
  table ??= new Map(Object.entries(z.record(z.string(), InstanceLimitsSchema).parse(raw)));
  return table;
}

export function instanceTypeLimits(instanceType: string): InstanceLimits | undefined {
  return limitsTable().get(instanceType);
}
