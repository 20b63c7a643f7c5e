/**
 * What the agent shows of itself to the parts that run beside its core: the metrics and introspection endpoints, the
 * Kubernetes side (informers, Events, annotations, the live ConfigMap) and the operator commands behind them. They read
 * through this view and act only through its two verbs, so the core's state has one writer.
 */
import type { Config } from '../compiler/settings/index.ts';
import type { EffectiveValue } from '../compiler/settings/parse.ts';
import type { IpamEngine } from '../ipam/engine.ts';
import type { AgentBus } from './bus.ts';
import type { HostNetwork } from './host-network.ts';

export interface LoopStatus {
  readonly name: string;
  readonly periodMs: number;
  readonly runs: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  readonly lastOkAtMs?: number;
  readonly lastError?: string;
  /** When it runs next (backoff included). */
  readonly nextAtMs?: number;
}

/** How a loop is run besides its period (src/agent/loops.ts). */
export interface LoopOptions {
  /** ± this fraction of each delay, at random (default 0.1). */
  readonly jitter?: number;
  /** The first retry after a failure, doubled per consecutive failure (default: the period). */
  readonly retryMs?: number;
  /** The longest a failing loop waits (default: 5 min, or its period when that is longer). */
  readonly maxBackoffMs?: number;
  /** Before the first run (default: one period). */
  readonly firstRunMs?: number;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, or 'serving'. */
  readonly reason: string;
}

/** What the Kubernetes side knows that the pool should act on. */
export interface NodeDemand {
  /** A cordoned node does not grow its pool. */
  readonly cordoned: boolean;
  /** Pods bound to this node whose ADD has not arrived yet: the pool may grow for them early. */
  readonly pendingPods: number;
}

export interface ReconfigureResult {
  /** Keys whose new value is in effect. */
  readonly applied: readonly string[];
  /** Keys that changed but take effect only when the node is recycled (the running value stays). */
  readonly pendingRecycle: readonly string[];
}

export interface AgentView {
  readonly nodeName: string;
  readonly instanceId: string;
  readonly instanceType: string;
  readonly startedAtMs: number;
  readiness(): Readiness;
  /** undefined until ready. */
  timeToReadyMs(): number | undefined;
  /** The configuration in effect now, and where each value came from. */
  config(): Config;
  values(): Readonly<Record<string, EffectiveValue>>;
  readonly engine: IpamEngine;
  /** Custom networking's ENIConfig for this node (name, subnet, security groups); undefined when off. */
  eniConfig():
    | { readonly name: string; readonly subnet: string; readonly securityGroups: readonly string[] }
    | undefined;
  readonly host: HostNetwork;
  loops(): readonly LoopStatus[];
  /** Config keys changed since start whose new value waits for a node recycle. */
  pendingRecycle(): readonly string[];
  readonly bus: AgentBus;
  /**
   * Takes a new, already validated configuration: what is safe to change live takes effect within one reconcile
   * period (warm targets, log level, SNAT exclusions, external SNAT…; the host plan is re-planned and only the diff
   * applied); the rest is reported as pending a recycle.
   */
  reconfigure(config: Config, values: Readonly<Record<string, EffectiveValue>>): Promise<ReconfigureResult>;
  setDemand(demand: NodeDemand): void;
  /**
   * Runs `fn` on the agent's loop scheduler: every `periodMs` with jitter, backed off while it fails, its status in
   * loops() and its runs on the bus as loop-ok/loop-failed. Stopped with the agent.
   */
  registerLoop(name: string, periodMs: number, fn: () => Promise<void>, options?: LoopOptions): void;
  /** Runs a loop now, or right after its run in progress (kicks coalesce; a failing loop's backoff holds). */
  kickLoop(name: string): void;
}

/** A part started beside the core once the IPAM engine exists (before the host is converged and the socket opens). */
export interface AgentExtension {
  readonly name: string;
  start(view: AgentView): Promise<{ stop(): Promise<void> }>;
}
