/**
 * What every host builder reads: the config keys that shape host state, the node facts, and values derived from both
 * once (interface names, ENI tables, normalised CIDRs). Deriving here, not in each builder, keeps the builders to one
 * concern each and makes every bad input fail in one place with one clear message.
 */

import { normaliseIpv4Cidr } from '../../lib/address.ts';
import { type Eni, IptablesMode, type NodeFacts, primaryEni } from '../facts.ts';
import type { IpFamily } from '../plan.ts';
import { OTHER_CARD_TABLE_BASE } from './names.ts';

/** The config keys the host plan depends on; a full `Config` satisfies it structurally. */
export interface HostConfig {
  readonly AWS_VPC_K8S_CNI_EXTERNALSNAT: boolean;
  readonly AWS_VPC_CNI_NODE_PORT_SUPPORT: boolean;
  readonly AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: readonly string[];
  readonly AWS_EXTERNAL_SERVICE_CIDRS: readonly string[];
  readonly AWS_VPC_K8S_CNI_RANDOMIZESNAT: string;
  readonly AWS_VPC_K8S_CNI_CONNMARK: number;
  readonly AWS_VPC_ENI_MTU: number;
  readonly AWS_VPC_K8S_CNI_VETHPREFIX: string;
  readonly ENABLE_IPv4: boolean;
  readonly ENABLE_IPv6: boolean;
  readonly ENABLE_V6_EGRESS: boolean;
  readonly DISABLE_TCP_EARLY_DEMUX: boolean;
  readonly ENABLE_POD_ENI: boolean;
  readonly POD_SECURITY_GROUP_ENFORCING_MODE: string;
  readonly ENABLE_MULTI_NIC: boolean;
  /** `auto` = the node's detected backend (`facts.iptablesMode`); `nf_tables` or `legacy` overrides it. */
  readonly VPC_CNI_IPTABLES_MODE: string;
}

/** A pod's address as IPAM assigned it; `eniTable` absent or 254 = an address of the primary ENI (main table). */
export interface PodAssignment {
  readonly ip: string;
  readonly hostVeth: string;
  readonly eniTable?: number;
}

/** An ENI with its Linux name resolved. */
export interface NamedEni extends Eni {
  readonly name: string;
}

/** A secondary ENI the node manages, with its route table. */
export interface SecondaryEni extends NamedEni {
  readonly table: number;
}

export interface HostContext {
  readonly config: HostConfig;
  readonly facts: NodeFacts;
  /** `inet6` in IPv6 mode: the fwmark rule and ENI routes use this family; SNAT and connmark exist only in `inet`. */
  readonly family: IpFamily;
  readonly primary: NamedEni;
  /** Managed secondary ENIs, ordered by network card then device number. */
  readonly secondaries: readonly SecondaryEni[];
  /** VPC CIDRs (IMDS order, from the primary ENI). */
  readonly vpcCidrs: readonly string[];
  /** `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS`, normalised like the reference (`10.0.1.7/16` → `10.0.0.0/16`). */
  readonly snatExclusions: readonly string[];
  readonly externalServiceCidrs: readonly string[];
  readonly mark: number;
  /** The connmark backend: the detected one unless `VPC_CNI_IPTABLES_MODE` names one. */
  readonly iptablesMode: IptablesMode;
  /** Undefined = pods not known to this caller; their rules and routes are then neither planned nor owned. */
  readonly pods: readonly PodAssignment[] | undefined;
}

/** Bad input for the compiler: the message names the key or fact and the offending value. */
export class PlanError extends Error {
  override readonly name = 'PlanError';
}

/** `CalculateRouteTableId`: device + 1 on card 0, `10000 + 100·card + device` on other cards. */
export function eniRouteTable(deviceNumber: number, networkCard: number): number {
  if (networkCard === 0) return deviceNumber === 0 ? 254 : deviceNumber + 1;
  return OTHER_CARD_TABLE_BASE + 100 * networkCard + deviceNumber;
}

function named(eni: Eni): NamedEni {
  if (eni.interfaceName === undefined) {
    throw new PlanError(
      `ENI ${eni.interfaceId} (${eni.mac}) has no interfaceName: resolve names by MAC (\`vpc-cni node-facts\`) or set it in the node snapshot`,
    );
  }
  return { ...eni, name: eni.interfaceName };
}

function ipv4Cidrs(key: string, values: readonly string[]): string[] {
  return values.map((value) => {
    const cidr = normaliseIpv4Cidr(value);
    if (cidr === undefined) throw new PlanError(`${key}: "${value}" is not an IPv4 CIDR`);
    return cidr;
  });
}

function checkConfig(config: HostConfig): void {
  if (config.ENABLE_IPv4 === config.ENABLE_IPv6) {
    throw new PlanError(
      `ENABLE_IPv4=${config.ENABLE_IPv4} and ENABLE_IPv6=${config.ENABLE_IPv6}: exactly one address family must be enabled`,
    );
  }
  if (!['prng', 'hashrandom', 'none'].includes(config.AWS_VPC_K8S_CNI_RANDOMIZESNAT)) {
    throw new PlanError(
      `AWS_VPC_K8S_CNI_RANDOMIZESNAT="${config.AWS_VPC_K8S_CNI_RANDOMIZESNAT}": expected prng, hashrandom or none`,
    );
  }
  const mark = config.AWS_VPC_K8S_CNI_CONNMARK;
  if (!Number.isInteger(mark) || mark < 1 || mark > 0xffffffff) {
    throw new PlanError(`AWS_VPC_K8S_CNI_CONNMARK=${mark}: expected an integer in 1..0xffffffff`);
  }
  const mtu = config.AWS_VPC_ENI_MTU;
  const minMtu = config.ENABLE_IPv6 ? 1280 : 576;
  if (!Number.isInteger(mtu) || mtu < minMtu || mtu > 9001) {
    throw new PlanError(`AWS_VPC_ENI_MTU=${mtu}: expected an integer in ${minMtu}..9001`);
  }
}

/** `auto` keeps the backend detected on the node, as the reference does; `nf_tables` or `legacy` overrides it. */
function connmarkBackend(config: HostConfig, facts: NodeFacts): IptablesMode {
  const mode = config.VPC_CNI_IPTABLES_MODE;
  if (mode === 'auto') return facts.iptablesMode;
  const parsed = IptablesMode.safeParse(mode);
  if (!parsed.success) throw new PlanError(`VPC_CNI_IPTABLES_MODE="${mode}": expected auto, nf_tables or legacy`);
  return parsed.data;
}

export function hostContext(
  config: HostConfig,
  facts: NodeFacts,
  pods: readonly PodAssignment[] | undefined,
): HostContext {
  checkConfig(config);
  const primary = named(primaryEni(facts));
  // ENIs on other network cards are only managed with ENABLE_MULTI_NIC, as in ipamd.
  const secondaries = facts.enis
    .filter((e) => e.mac !== facts.primaryMac && (e.networkCard === 0 || config.ENABLE_MULTI_NIC))
    .toSorted((a, b) => a.networkCard - b.networkCard || a.deviceNumber - b.deviceNumber)
    .map((e) => ({ ...named(e), table: eniRouteTable(e.deviceNumber, e.networkCard) }));
  return {
    config,
    facts,
    family: config.ENABLE_IPv6 ? 'inet6' : 'inet',
    primary,
    secondaries,
    vpcCidrs: primary.vpcCidrs,
    snatExclusions: ipv4Cidrs('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', config.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS),
    externalServiceCidrs: ipv4Cidrs('AWS_EXTERNAL_SERVICE_CIDRS', config.AWS_EXTERNAL_SERVICE_CIDRS),
    mark: config.AWS_VPC_K8S_CNI_CONNMARK,
    iptablesMode: connmarkBackend(config, facts),
    pods,
  };
}

/** `0x80` — how the reference prints marks (`%#x`) in ip rules and iptables. */
export function hexMark(mark: number): string {
  return `0x${mark.toString(16)}`;
}
