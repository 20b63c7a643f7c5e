import { readFileSync } from 'node:fs';
import { packageFile } from '../../data/files.ts';

/** One entry of src/data/instance-limits.json (the same table the agent uses). */
export interface InstanceTypeLimits {
  readonly eniLimit: number;
  readonly ipv4Limit: number;
  readonly hypervisorType: string;
  readonly isBareMetal: boolean;
  readonly defaultNetworkCardIndex: number;
  readonly networkCards: readonly { readonly networkCardIndex: number; readonly maximumNetworkInterfaces: number }[];
}

let table: Readonly<Record<string, InstanceTypeLimits>> | undefined;

export function instanceTypeTable(): Readonly<Record<string, InstanceTypeLimits>> {
  table ??= JSON.parse(readFileSync(packageFile('src', 'data', 'instance-limits.json'), 'utf8')) as Record<
    string,
    InstanceTypeLimits
  >;
  return table;
}

export function instanceTypeLimits(type: string): InstanceTypeLimits | undefined {
  return Object.hasOwn(instanceTypeTable(), type) ? instanceTypeTable()[type] : undefined;
}

/** Prefix delegation needs the Nitro system (or bare metal), as EC2 enforces it. */
export function supportsPrefixes(limits: InstanceTypeLimits): boolean {
  return limits.hypervisorType === 'nitro' || limits.isBareMetal;
}

/** EC2 publishes the same per-interface count for IPv6 as for IPv4 on current types; the table only has IPv4. */
export function ipv6Limit(limits: InstanceTypeLimits): number {
  return limits.ipv4Limit;
}
