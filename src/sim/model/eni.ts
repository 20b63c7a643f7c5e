/** The records the cloud model keeps; EC2 responses and the IMDS tree are both rendered from them. */

export interface PrivateIp {
  readonly address: string;
  readonly primary: boolean;
}

export interface EniAttachment {
  readonly id: string;
  readonly instanceId: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
  deleteOnTermination: boolean;
  readonly attachTime: Date;
}

export interface Eni {
  readonly id: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly zone: string;
  readonly mac: string;
  readonly ownerId: string;
  description: string;
  sourceDestCheck: boolean;
  groups: string[];
  readonly tags: Map<string, string>;
  /** The primary address first, then secondaries in assignment order. */
  privateIps: PrivateIp[];
  prefixes: string[];
  ipv6: string[];
  attachment: EniAttachment | undefined;
}

export interface SecurityGroup {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly vpcId: string;
  readonly tags: Map<string, string>;
}

export interface Instance {
  readonly id: string;
  readonly type: string;
  readonly zone: string;
  readonly subnetId: string;
  readonly imageId: string;
  readonly launchTime: Date;
  readonly primaryEniId: string;
}

export function eniStatus(eni: Eni): 'available' | 'in-use' {
  return eni.attachment === undefined ? 'available' : 'in-use';
}

/** The number of per-interface address slots used: EC2 counts each delegated /28 as one slot. */
export function ipv4SlotsUsed(eni: Eni): number {
  return eni.privateIps.length + eni.prefixes.length;
}
