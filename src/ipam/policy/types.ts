/**
 * Values the warm-pool policy reads and returns. Everything here is plain data: a frozen snapshot of the pool in, a
 * list of actions out. Time arrives as ages and durations already measured by the caller, never as a clock.
 */

/**
 * The warm-pool knobs, resolved against the instance's limits. Names follow the Amazon VPC CNI settings so existing
 * tuning keeps its meaning (`WARM_IP_TARGET` → `warmIpTarget`, 0 = unset, exactly as ipamd reads them).
 */
export interface WarmPoolPolicy {
  /** Spare ENIs' worth of addresses to keep; ignored when a warm IP target is set, and in prefix mode. */
  readonly warmEniTarget: number;
  /** Free addresses to keep ready; 0 = unset. Overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET. */
  readonly warmIpTarget: number;
  /** Floor on the total addresses held; 0 = unset. */
  readonly minimumIpTarget: number;
  /** Free /28 prefixes to keep in prefix mode (0 still counts as set: grow only when nothing is free). */
  readonly warmPrefixTarget: number;
  /** ENABLE_PREFIX_DELEGATION: hand out /28 prefixes instead of single secondary addresses. */
  readonly prefixDelegation: boolean;
  /** ENIs this node may hold, primary included: min(instance limit, MAX_ENI when set). */
  readonly maxEnis: number;
  /** Address slots per ENI (IPv4 limit − 1, the ENI's own primary address excluded); a slot holds a /32 or a /28. */
  readonly slotsPerEni: number;
  /** The node's max-pods: the pool never grows once it holds this many addresses. */
  readonly maxPods: number;
  /** Custom networking: pods never get addresses on the primary ENI, so it is never grown. */
  readonly skipPrimaryEni: boolean;
  /** An ENI younger than this is never freed (ipamd: 1 minute), so a burst does not flap ENIs. */
  readonly minEniLifetimeMs: number;
  /** Addresses are given back at most this often (ipamd: 30 s). */
  readonly decreaseIntervalMs: number;
  /**
   * `reference` reproduces ipamd's decisions (one grow step per cycle, pending pods only as a last resort).
   * `surge` also counts pods waiting for an address and covers the whole shortfall in one cycle.
   */
  readonly mode: 'reference' | 'surge';
}

/** One CIDR on an ENI as the policy sees it: a /32 secondary address or a /28 prefix, with counts only. */
export interface CidrState {
  readonly cidr: string;
  readonly prefix: boolean;
  /** Addresses in the CIDR (1 or 16). */
  readonly size: number;
  readonly assigned: number;
  /** Unassigned addresses still in IP_COOLDOWN_PERIOD: not usable, not releasable. */
  readonly cooling: number;
  /** Addresses held by an owner EC2 no longer lists: never released until the owner goes. */
  readonly quarantined: number;
}

export interface EniState {
  readonly id: string;
  readonly deviceNumber: number;
  readonly primary: boolean;
  /** Time since the ENI entered the pool. */
  readonly ageMs: number;
  readonly cidrs: readonly CidrState[];
}

export interface PoolSnapshot {
  readonly enis: readonly EniState[];
  /** Pods waiting for an address right now (CNI ADDs that found the pool empty). */
  readonly pendingPods: number;
  /** Time since addresses were last given back to EC2. */
  readonly msSinceLastDecrease: number;
  /** The subnet recently had no free /28: grow with single addresses instead of prefixes. */
  readonly prefixFallback: boolean;
  /**
   * The node is cordoned (Node.spec.unschedulable): it is being drained or retired, so no address is bought for the
   * warm targets or for expected pods; only ADDs already waiting are served.
   */
  readonly cordoned: boolean;
  /**
   * Pods bound to this node whose ADD has not arrived yet (the Kubernetes side counts them): demand the pool may grow
   * for early, so their ADDs find addresses instead of waiting for EC2.
   */
  readonly expectedPods: number;
}

/** Counts over the whole pool (Cilium-style arithmetic input). */
export interface PoolStats {
  readonly total: number;
  readonly assigned: number;
  readonly cooling: number;
  /** Free now: total − assigned − cooling. Cooling addresses are not available (ipamd counts them: its #2896). */
  readonly available: number;
  readonly totalPrefixes: number;
  /** Prefixes with nothing assigned and nothing cooling: the only ones that may go back to EC2. */
  readonly freePrefixes: number;
}

/** What the policy asks the cloud side to do. `reason` says why, in the policy's own terms. */
export type Action =
  | {
      readonly kind: 'assign-ips';
      readonly eni: string;
      readonly count: number;
      readonly prefix: boolean;
      readonly reason: string;
    }
  | { readonly kind: 'attach-eni'; readonly count: number; readonly prefix: boolean; readonly reason: string }
  | { readonly kind: 'release-ips'; readonly eni: string; readonly cidrs: readonly string[]; readonly reason: string }
  | { readonly kind: 'free-eni'; readonly eni: string; readonly reason: string };
