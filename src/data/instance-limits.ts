import { type InstanceLimits, InstanceLimitsSchema } from '../lib/instance-limits.ts';
import raw from './instance-limits.json' with { type: 'json' };

/**
 * Networking limits of EC2 instance types (public DescribeInstanceTypes data, as carried by the Amazon VPC CNI
 * v1.23.1), bundled into the program. New types appear monthly: callers must treat a miss as "ask EC2", never as a
 * reason to refuse to start.
 */
const rows: Readonly<Record<string, unknown>> = raw;
// A row is parsed when it is first asked for: a command looks up one or two of the ~1400 types, and parsing them all
// was a sixth of `vpc-cni max-pods`. test/lib/instance-limits.test.ts parses every row.
const parsed = new Map<string, InstanceLimits>();

export function instanceTypeLimits(instanceType: string): InstanceLimits | undefined {
  if (!Object.hasOwn(rows, instanceType)) return undefined;
  let limits = parsed.get(instanceType);
  if (limits === undefined) {
    limits = InstanceLimitsSchema.parse(rows[instanceType]);
    parsed.set(instanceType, limits);
  }
  return limits;
}
