import type {
  Address,
  IpFamily,
  IpRule,
  IptablesChain,
  IptablesRule,
  IptablesTable,
  Link,
  NftTable,
  Route,
  Sysctl,
} from '../compiler/plan.ts';

/**
 * What the kernel holds right now, in the same vocabulary as the plan so the diff compares like with like.
 * Live objects say `because: 'live'`. Only what the applier could own is kept: unicast routes outside the local
 * table, global-scope addresses, user-defined iptables chains, every ip rule (ownership is decided by the diff).
 */
export interface LiveState {
  readonly links: readonly Link[];
  readonly addresses: readonly Address[];
  readonly routes: readonly LiveRoute[];
  readonly rules: readonly LiveRule[];
  /** Values of the sysctls that were asked for; a path absent from the kernel is absent here. */
  readonly sysctls: readonly Sysctl[];
  readonly iptablesChains: readonly IptablesChain[];
  readonly iptablesRules: readonly IptablesRule[];
  readonly nftTables: readonly NftTable[];
  /**
   * Every nft table of the namespace by name, foreign ones included, never their contents: a rollback compares it
   * with the one captured before the apply to find the tables iptables-nft created for our rules (absent = not read).
   */
  readonly nftIndex?: readonly NftTableSummary[];
  /**
   * Set when the kernel could not be read (`not root`, …) and this state stands in for it as an empty node: the diff
   * then says every change is assumed, not observed.
   */
  readonly unread?: string;
}

export interface NftTableSummary {
  /** `family name`, e.g. `ip mangle`. */
  readonly key: string;
  /** No rule, set or other object, and no base chain with a policy other than accept. */
  readonly empty: boolean;
}

/** A route plus what only the kernel knows: who installed it (`kernel` for connected routes). */
export interface LiveRoute extends Route {
  readonly protocol: string;
  /** Attributes the plan cannot express (metric, multipath, …); a route with them never equals a planned one. */
  readonly extra?: string;
}

/** An ip rule plus any selector the plan cannot express (`not`, `oif`, `ipproto`, …), which makes it unequal to any planned rule. */
export interface LiveRule extends IpRule {
  readonly extra?: string;
}

/** Which slices of the kernel to read. Sysctls are read by path because /proc/sys is too large to read whole. */
export interface ReadScope {
  readonly sysctlPaths: readonly string[];
  readonly families: readonly IpFamily[];
  readonly iptablesTables: readonly IptablesTable[];
}

export const LIVE = 'live';

export const emptyLiveState: LiveState = {
  links: [],
  addresses: [],
  routes: [],
  rules: [],
  sysctls: [],
  iptablesChains: [],
  iptablesRules: [],
  nftTables: [],
};

/** The empty node a plan is made against when the kernel cannot be read, carrying why. */
export function unreadLiveState(why: string): LiveState {
  return { ...emptyLiveState, unread: why };
}
