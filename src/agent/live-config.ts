/**
 * Which configuration changes the running agent can take without a node recycle, as data: a validated new
 * configuration is split into the keys that take effect now and the keys that keep their running value until the
 * node is recycled (the reference reads everything once at start; an operator edits the ConfigMap and expects either
 * an effect or a clear "needs a recycle", users-and-peers §1.21). A key not listed here needs a recycle: saying
 * "pending" for a key that could have been live is an inconvenience, applying one that cannot be is an outage.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Config } from '../compiler/settings/index.ts';
import type { EffectiveValue } from '../compiler/settings/parse.ts';

/** Where a live key takes effect: the engine's warm-pool policy, the host plan, or wherever it is read next. */
export type LiveVia = 'pool' | 'host' | 'read';

/** The keys safe to change live, and why each is. */
export const LIVE_KEYS: Readonly<Record<string, { readonly via: LiveVia; readonly why: string }>> = {
  // The warm targets only steer what the next pool step buys or gives back; nothing held is touched by the change
  // itself, and a lower target shrinks the pool through the normal decrease path (cooldown, decrease interval).
  WARM_ENI_TARGET: { via: 'pool', why: 'steers the next pool step only' },
  WARM_IP_TARGET: { via: 'pool', why: 'steers the next pool step only' },
  MINIMUM_IP_TARGET: { via: 'pool', why: 'steers the next pool step only' },
  WARM_PREFIX_TARGET: { via: 'pool', why: 'steers the next pool step only' },
  // Applies to addresses freed from now on; one already cooling finishes under whichever period is current.
  IP_COOLDOWN_PERIOD: { via: 'pool', why: 'how long a freed address rests before reuse' },
  // SNAT and connmark are nat/mangle rules of the host plan: a re-plan rewrites only those rules, and a flow already
  // tracked keeps its conntrack entry; ipamd rebuilds these chains from the settings on every start (host-network
  // reference, SNAT), so they never depended on being set only once.
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: { via: 'host', why: 'nat rules, re-planned' },
  AWS_VPC_K8S_CNI_EXTERNALSNAT: { via: 'host', why: 'nat rules, re-planned' },
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: { via: 'host', why: 'nat rules, re-planned' },
  AWS_EXTERNAL_SERVICE_CIDRS: { via: 'host', why: 'nat rules, re-planned' },
  AWS_VPC_K8S_CNI_CONNMARK: { via: 'host', why: 'mangle and nat rules, re-planned' },
  AWS_VPC_CNI_NODE_PORT_SUPPORT: { via: 'host', why: 'mangle rules and a main-table rule, re-planned' },
  DISABLE_TCP_EARLY_DEMUX: { via: 'host', why: 'one sysctl, re-planned' },
  // Read on use: the log by its writer, the sweep by its loop, the annotation per pod.
  AWS_VPC_K8S_CNI_LOGLEVEL: { via: 'read', why: "the logger's level, read on change" },
  DISABLE_LEAKED_ENI_CLEANUP: { via: 'read', why: 'the sweep loop reads it each run' },
  ANNOTATE_POD_IP: { via: 'read', why: 'read per pod by the Kubernetes side' },
};

/**
 * Why the rest waits for a recycle, for the keys an operator is most likely to edit (the Event and `status` name
 * them; the others get the generic reason).
 */
export const RECYCLE_REASONS: Readonly<Record<string, string>> = {
  // Every address already held is a /32 (or /28): switching would mix both on one node, and kubelet's max-pods
  // follows the mode, which the reference's README says needs a kubelet restart or a node recycle (ipam §7.3).
  ENABLE_PREFIX_DELEGATION: "the held addresses and kubelet's max-pods follow the mode",
  // Custom networking picks the subnet and security groups of ENIs when they are created; attached ENIs keep theirs
  // (users-and-peers §1.13), and it changes max-pods (the primary ENI is left out).
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'attached ENIs keep their subnet; max-pods changes',
  ENI_CONFIG_LABEL_DEF: 'attached ENIs keep their ENIConfig',
  ENI_CONFIG_ANNOTATION_DEF: 'attached ENIs keep their ENIConfig',
  // The address family of every pod and of the host plan.
  ENABLE_IPv4: 'the address family of every pod',
  ENABLE_IPv6: 'the address family of every pod',
  ENABLE_V6_EGRESS: 'egress interfaces of running pods',
  ENABLE_V4_EGRESS: 'egress interfaces of running pods',
  // Running pods' host veths carry the old prefix: a plan with the new one would no longer own their routes.
  AWS_VPC_K8S_CNI_VETHPREFIX: "running pods' veths are named with the old prefix",
  // A pod's MTU is set in its namespace at ADD; changing the ENI's alone would leave running pods mismatched.
  AWS_VPC_ENI_MTU: "running pods' interfaces keep the MTU they were created with",
  POD_MTU: "running pods' interfaces keep the MTU they were created with",
  // max-pods and the ENI count kubelet was started with.
  MAX_ENI: "kubelet's max-pods follows it",
  ENABLE_POD_ENI: 'trunk ENI and branch pods',
  POD_SECURITY_GROUP_ENFORCING_MODE: 'set per branch pod at ADD',
  // The iptables backend: switching live would leave the other backend's rules behind.
  VPC_CNI_IPTABLES_MODE: "the other backend's rules would stay behind",
  AWS_VPC_K8S_CNI_BACKING_STORE: 'the checkpoint is opened at start',
  HOST_CNI_BIN_PATH: 'the plugin is installed at start',
  HOST_CNI_CONFDIR_PATH: 'the conflist is installed at start',
};

export function recycleReason(key: string): string {
  return RECYCLE_REASONS[key] ?? 'read once at start';
}

export function isLive(key: string): boolean {
  return Object.hasOwn(LIVE_KEYS, key);
}

export interface ConfigChange {
  /** The configuration in effect after the change: live keys from the request, the rest as running. */
  readonly next: Config;
  readonly values: Readonly<Record<string, EffectiveValue>>;
  /** Live keys whose value changed now. */
  readonly applied: readonly string[];
  /** Keys whose requested value differs from the running one and waits for a recycle (earlier requests included). */
  readonly pendingRecycle: readonly string[];
  /** Where the applied keys take effect. */
  readonly via: ReadonlySet<LiveVia>;
}

/**
 * Splits a requested configuration against the running one. Pure: the agent carries out `via` (swap the policy,
 * re-plan the host) and then adopts `next`. A recycle key set back to its running value stops being pending.
 */
export function splitChange(
  running: Config,
  runningValues: Readonly<Record<string, EffectiveValue>>,
  requested: Config,
  requestedValues: Readonly<Record<string, EffectiveValue>>,
): ConfigChange {
  const keys = [...new Set([...Object.keys(running), ...Object.keys(requested)])].toSorted();
  const get = (c: Config, key: string): unknown => (c as Readonly<Record<string, unknown>>)[key];
  const changed = keys.filter((k) => !isDeepStrictEqual(get(running, k), get(requested, k)));
  const applied = changed.filter(isLive);
  const next = { ...running } as Record<string, unknown>;
  const values = { ...runningValues };
  for (const key of applied) {
    next[key] = get(requested, key);
    const value = requestedValues[key];
    if (value !== undefined) values[key] = value;
  }
  return {
    next: next as Config,
    values,
    applied,
    pendingRecycle: changed.filter((k) => !isLive(k)),
    via: new Set(applied.map((k) => LIVE_KEYS[k]!.via)),
  };
}
