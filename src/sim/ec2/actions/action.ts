import type { Cloud } from '../../model/cloud.ts';
import type { QueryParams } from '../query.ts';
import type { XmlValue } from '../xml.ts';

/** EC2's throttling buckets: describes, describes without filters or paging (a smaller bucket), and mutations. */
export type ThrottleClass = 'non-mutating' | 'unfiltered' | 'mutating';

/** How long the real call takes, by kind (see latency.ts for the figures per profile). */
export type LatencyClass = 'describe' | 'create' | 'attach' | 'detach' | 'delete' | 'assign' | 'modify' | 'tag';

export interface Ec2Action {
  readonly name: string;
  readonly latency: LatencyClass;
  readonly throttle: (params: QueryParams) => ThrottleClass;
  readonly run: (cloud: Cloud, params: QueryParams) => Readonly<Record<string, XmlValue>>;
}

export const mutating = (): ThrottleClass => 'mutating';

/** A describe call costs the small bucket unless it is narrowed by ids, filters or paging. */
export function describeClass(idParameter: string): (params: QueryParams) => ThrottleClass {
  return (params) =>
    params.has(idParameter) || params.has('Filter') || params.has('MaxResults') ? 'non-mutating' : 'unfiltered';
}
