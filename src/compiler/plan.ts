/**
 * The desired host-network state: pure data, produced by the compiler and consumed by the applier.
 *
 * Every object names itself (`key`) and carries `because`: the config key or node fact that put it in the plan, so a
 * diff can say why an action exists. Objects describe *what* must be true, never *how* to make it true: ordering,
 * batching and rollback belong to `src/apply/`. Run options (dry-run, verify, netns) are never stored here.
 */

export type IpFamily = 'inet' | 'inet6';

interface Explained {
  /** The config key or node fact behind this object, e.g. `AWS_VPC_K8S_CNI_EXTERNALSNAT`, `fact:vpc-ipv4-cidr-blocks`. */
  readonly because: string;
}

/** `ip rule`: the applier owns rules by priority (see `Ownership.rulePriorities`). */
export interface IpRule extends Explained {
  readonly kind: 'rule';
  readonly family: IpFamily;
  readonly priority: number;
  /** Route table number (254 = main, 255 = local). */
  readonly table: number;
  /** Source prefix, e.g. `10.0.1.7/32`; absent = `from all`. */
  readonly from?: string;
  /** Destination prefix; absent = any. */
  readonly to?: string;
  readonly fwmark?: { readonly mark: number; readonly mask: number };
  readonly iif?: string;
  /** IP protocol selector, e.g. `ipv6-icmp` (the SGP-strict IPv6 gateway rule). */
  readonly ipproto?: string;
}

/**
 * An `ip rule` that must NOT exist although its priority is not ours: the pref-0 `lookup local` rule that the reference
 * moves to pref 20 in security-groups-for-pods strict mode. Matches a live rule with exactly these selectors (an absent
 * field means none, e.g. no `from` = `from all`), so `from fe80:ec2::1 ipproto ipv6-icmp lookup local` at pref 0 is not it.
 */
export interface AbsentRule extends Omit<IpRule, 'kind'> {
  readonly kind: 'absent-rule';
}

/** A route in a numbered table. `dev` is a Linux interface name resolved from the ENI's MAC by the node facts. */
export interface Route extends Explained {
  readonly kind: 'route';
  readonly family: IpFamily;
  readonly table: number;
  /** Destination prefix (`0.0.0.0/0` for a default route). */
  readonly dst: string;
  readonly dev: string;
  readonly via?: string;
  readonly scope: 'link' | 'global';
  readonly src?: string;
}

/** A route that must NOT exist (the kernel's subnet route of a secondary ENI in the main table). */
export interface AbsentRoute extends Explained {
  readonly kind: 'absent-route';
  readonly family: IpFamily;
  readonly table: number;
  readonly dst: string;
  readonly dev: string;
}

/** An address on an ENI's link, e.g. `10.0.2.10/24` on `eth1`. */
export interface Address extends Explained {
  readonly kind: 'address';
  readonly dev: string;
  /** Address with the subnet's prefix length. */
  readonly cidr: string;
}

/** Link attributes of an ENI (found by MAC, named by the kernel). */
export interface Link extends Explained {
  readonly kind: 'link';
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
}

/** A `/proc/sys` value. `path` is relative to `/proc/sys`, e.g. `net/ipv4/conf/eth0/rp_filter`. */
export interface Sysctl extends Explained {
  readonly kind: 'sysctl';
  readonly path: string;
  readonly value: string;
}

export type IptablesTable = 'nat' | 'mangle' | 'filter';

/** A chain we create (never a built-in chain such as POSTROUTING). */
export interface IptablesChain extends Explained {
  readonly kind: 'iptables-chain';
  readonly family: IpFamily;
  readonly table: IptablesTable;
  readonly name: string;
}

/**
 * One iptables rule, in `iptables-save` form (what follows `-A <chain>`), so live state compares textually.
 * Within a chain, rules appear in the plan in the order they must have in the kernel.
 */
export interface IptablesRule extends Explained {
  readonly kind: 'iptables-rule';
  readonly family: IpFamily;
  readonly table: IptablesTable;
  readonly chain: string;
  /** Arguments after `-A <chain>`, exactly as `iptables-save` prints them (quotes removed, one element per token). */
  readonly args: readonly string[];
  /**
   * Where a missing rule goes in a chain shared with others (built-in chains): `head` = `-I <chain> 1` (the reference
   * inserts its FORWARD rejects first); absent = appended. Rules in our own chains always follow plan order.
   */
  readonly position?: 'head';
}

/** An nftables table we own entirely, rendered as `nft -f` text (`table ip aws-cni { ... }`). */
export interface NftTable extends Explained {
  readonly kind: 'nft-table';
  readonly family: 'ip' | 'ip6' | 'inet';
  readonly name: string;
  readonly chains: readonly NftChain[];
}

export interface NftChain {
  readonly name: string;
  /** Base chain hook, e.g. `{type: 'nat', hook: 'prerouting', priority: -90, policy: 'accept'}`; absent = regular chain. */
  readonly base?: {
    readonly type: 'nat' | 'filter';
    readonly hook: string;
    readonly priority: number;
    readonly policy: 'accept' | 'drop';
  };
  /** Rule statements in order, in `nft list` form without handles, e.g. `iifname "eni*" counter jump snat-mark`. */
  readonly rules: readonly string[];
}

/**
 * What the applier may change or delete. Anything outside these markers is someone else's and is never touched.
 */
export interface Ownership {
  /** ip rule priorities we own, per family (e.g. 512, 1024, 1535, 1536, 32765). */
  readonly rulePriorities: readonly number[];
  /** Route tables we own entirely (per-ENI tables). Routes in `main` are owned only when they are in the plan or are pod routes on our veth prefix. */
  readonly routeTables: readonly number[];
  /** Chain-name prefixes we own in each iptables table, e.g. `AWS-SNAT-CHAIN-`, `AWS-CONNMARK-CHAIN-`. */
  readonly iptablesChainPrefixes: readonly string[];
  /** Comments that mark our rules in built-in chains (POSTROUTING, PREROUTING, FORWARD). */
  readonly iptablesComments: readonly string[];
  /** nftables tables we own, as `family name`, e.g. `ip aws-cni`. */
  readonly nftTables: readonly string[];
  /** Host veth name prefixes whose /32 routes in main are pod routes (current and previous veth prefixes). */
  readonly vethPrefixes: readonly string[];
}

export type PlanObject =
  | IpRule
  | AbsentRule
  | Route
  | AbsentRoute
  | Address
  | Link
  | Sysctl
  | IptablesChain
  | IptablesRule
  | NftTable;

/** The whole desired host state of one node. Serialisable as JSON; deterministic for the same inputs. */
export interface HostPlan {
  readonly version: 1;
  readonly node: { readonly instanceId: string; readonly instanceType: string; readonly primaryInterface: string };
  readonly links: readonly Link[];
  readonly sysctls: readonly Sysctl[];
  readonly addresses: readonly Address[];
  readonly routes: readonly Route[];
  readonly absentRoutes: readonly AbsentRoute[];
  readonly rules: readonly IpRule[];
  /** Rules to delete outside our priorities (optional: absent = none). */
  readonly absentRules?: readonly AbsentRule[];
  readonly iptablesChains: readonly IptablesChain[];
  readonly iptablesRules: readonly IptablesRule[];
  readonly nftTables: readonly NftTable[];
  readonly ownership: Ownership;
}
