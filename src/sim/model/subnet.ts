import {
  formatIpv4,
  formatIpv4Cidr,
  type Ipv4Cidr,
  ipv4CidrContains,
  ipv4CidrSize,
  isIpv6Cidr,
  parseIpv4,
  parseIpv4Network,
} from '../../lib/address.ts';
import { Ec2Error } from '../ec2/errors.ts';

/** AWS keeps the network address, the router, DNS, one future address and the broadcast address of every subnet. */
const RESERVED_AT_START = 4;
const RESERVED_AT_END = 1;
/** EC2 delegates IPv4 prefixes of this length only. */
export const PREFIX_LENGTH = 28;
const PREFIX_SIZE = 2 ** (32 - PREFIX_LENGTH);

export interface SubnetSpec {
  readonly cidr: string;
  readonly zone: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly ipv6Cidr?: string;
}

/**
 * A subnet with per-address accounting. Single addresses come from the lowest free slot; a /28 prefix needs an
 * aligned run of 16 free slots, so scattered single addresses fragment the space exactly as they do in EC2
 * (`InsufficientCidrBlocks` while `AvailableIpAddressCount` is still above zero).
 */
export class Subnet {
  readonly id: string;
  readonly vpcId: string;
  readonly zone: string;
  readonly cidr: Ipv4Cidr;
  readonly ipv6Cidr: string | undefined;
  readonly tags: Map<string, string>;
  readonly #used: Uint8Array;
  #free: number;
  #nextIpv6 = 1;

  constructor(id: string, vpcId: string, spec: SubnetSpec) {
    const cidr = parseIpv4Network(spec.cidr);
    if (cidr === undefined || cidr.bits < 16 || cidr.bits > 28) {
      throw new Ec2Error('InvalidSubnet.Range', `The CIDR '${spec.cidr}' is invalid (a subnet is /16 to /28).`);
    }
    if (spec.ipv6Cidr !== undefined && !(isIpv6Cidr(spec.ipv6Cidr) && spec.ipv6Cidr.endsWith('::/64'))) {
      throw new Ec2Error('InvalidSubnet.Range', `The IPv6 CIDR '${spec.ipv6Cidr}' is invalid (expected a ...::/64).`);
    }
    this.id = id;
    this.vpcId = vpcId;
    this.zone = spec.zone;
    this.cidr = cidr;
    this.ipv6Cidr = spec.ipv6Cidr;
    this.tags = new Map(Object.entries(spec.tags ?? {}));
    this.#used = new Uint8Array(ipv4CidrSize(cidr));
    for (let i = 0; i < RESERVED_AT_START; i++) this.#used[i] = 1;
    this.#used[this.#used.length - RESERVED_AT_END] = 1;
    this.#free = this.#used.length - RESERVED_AT_START - RESERVED_AT_END;
  }

  get cidrBlock(): string {
    return formatIpv4Cidr(this.cidr);
  }

  get availableIpAddressCount(): number {
    return this.#free;
  }

  containsAddress(address: string): boolean {
    const value = parseIpv4(address);
    return value !== undefined && ipv4CidrContains(this.cidr, value);
  }

  /** The lowest free address, or an `InsufficientFreeAddressesInSubnet` error. */
  allocateAddress(): string {
    const slot = this.#used.indexOf(0);
    if (slot < 0) throw this.#full();
    this.#mark(slot, 1, 1);
    return formatIpv4(this.cidr.base + slot);
  }

  /** Claims a caller-chosen address (`PrivateIpAddress.N`). */
  claimAddress(address: string): void {
    const slot = this.#slot(address);
    if (this.#used[slot] !== 0) {
      throw new Ec2Error('InvalidIPAddress.InUse', `The address ${address} is in use or reserved in ${this.id}.`);
    }
    this.#mark(slot, 1, 1);
  }

  releaseAddress(address: string): void {
    this.#mark(this.#slot(address), 1, 0);
  }

  /** The lowest aligned /28 whose 16 addresses are all free, or `InsufficientCidrBlocks`. */
  allocatePrefix(): string {
    for (let slot = 0; slot + PREFIX_SIZE <= this.#used.length; slot += PREFIX_SIZE) {
      if (this.#runIsFree(slot)) {
        this.#mark(slot, PREFIX_SIZE, 1);
        return formatIpv4Cidr({ base: this.cidr.base + slot, bits: PREFIX_LENGTH });
      }
    }
    throw new Ec2Error(
      'InsufficientCidrBlocks',
      `There are not enough free cidr blocks in the specified subnet ${this.id} to satisfy the request ` +
        `(${this.#free} single addresses remain, but no aligned /${PREFIX_LENGTH} is entirely free).`,
    );
  }

  claimPrefix(prefix: string): void {
    const slot = this.#prefixSlot(prefix);
    if (!this.#runIsFree(slot)) {
      throw new Ec2Error('InvalidParameterValue', `The prefix ${prefix} overlaps addresses in use in ${this.id}.`);
    }
    this.#mark(slot, PREFIX_SIZE, 1);
  }

  releasePrefix(prefix: string): void {
    this.#mark(this.#prefixSlot(prefix), PREFIX_SIZE, 0);
  }

  /** IPv6 addresses are plentiful: hand them out in order from the subnet's /64. */
  allocateIpv6(): string {
    if (this.ipv6Cidr === undefined) {
      throw new Ec2Error('InvalidParameterValue', `The subnet ${this.id} has no IPv6 CIDR block.`);
    }
    return `${this.ipv6Cidr.slice(0, -'/64'.length)}${(this.#nextIpv6++).toString(16)}`;
  }

  #slot(address: string): number {
    const value = parseIpv4(address);
    if (value === undefined || !ipv4CidrContains(this.cidr, value)) {
      throw new Ec2Error(
        'InvalidParameterValue',
        `The address ${address} is not in subnet ${this.id} (${this.cidrBlock}).`,
      );
    }
    return value - this.cidr.base;
  }

  #prefixSlot(prefix: string): number {
    const cidr = parseIpv4Network(prefix);
    if (cidr === undefined || cidr.bits !== PREFIX_LENGTH || !ipv4CidrContains(this.cidr, cidr.base)) {
      throw new Ec2Error('InvalidParameterValue', `The prefix ${prefix} is not a /${PREFIX_LENGTH} in ${this.id}.`);
    }
    return cidr.base - this.cidr.base;
  }

  #runIsFree(slot: number): boolean {
    for (let i = slot; i < slot + PREFIX_SIZE; i++) if (this.#used[i] !== 0) return false;
    return true;
  }

  #mark(slot: number, length: number, value: 0 | 1): void {
    for (let i = slot; i < slot + length; i++) {
      if (this.#used[i] !== value) this.#free += value === 1 ? -1 : 1;
      this.#used[i] = value;
    }
  }

  #full(): Ec2Error {
    return new Ec2Error(
      'InsufficientFreeAddressesInSubnet',
      `The specified subnet ${this.id} does not have enough free addresses to satisfy the request.`,
    );
  }
}
