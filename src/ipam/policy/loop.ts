/**
 * The engine's bookkeeping as one value and its decisions as pure transitions. The I/O shell (`engine.ts`) only reads
 * EC2, IMDS and the kernel, asks these functions what to do, carries it out and folds the outcome back in:
 * snapshot → `decide` (decide.ts) → execute → `afterAction` / `afterFailure`.
 */

import type { ShortageReason } from '../../lib/shortage.ts';
import type { Action, PoolSnapshot } from './types.ts';

/** ipamd pauses growth this long after the subnet ran out of addresses or /28s. */
export const INSUFFICIENT_CAPACITY_PAUSE_MS = 120_000;
export const RECONCILE_INTERVAL_MS = 60_000;
/** The reference's leaked-ENI sweep period. */
export const LEAK_SWEEP_INTERVAL_MS = 3_600_000;

export interface LandingCidr {
  readonly cidr: string;
  readonly prefix: boolean;
}

/** Addresses EC2 assigned to an ENI that IMDS does not show yet. */
export interface AwaitingImds {
  readonly cidrs: readonly LandingCidr[];
  readonly sinceMs: number;
}

/** What detaching an ENI and reading it from IMDS need. */
export interface EniHandle {
  readonly attachmentId: string;
  readonly mac: string;
}

export interface EngineState {
  readonly ready: boolean;
  readonly primaryGroups: readonly string[];
  /** Owners whose ADD found the pool empty (ownerKey). */
  readonly waiting: ReadonlySet<string>;
  readonly handles: ReadonlyMap<string, EniHandle>;
  readonly awaitingImds: ReadonlyMap<string, AwaitingImds>;
  readonly lastDecreaseAt: number;
  readonly lastReconcileAt: number;
  /** Undefined until the first step: the first sweep waits a full period too. */
  readonly lastSweepAt: number | undefined;
  readonly prefixFallbackUntil: number;
  readonly growthPausedUntil: number;
  readonly cloudFailure: { readonly reason: ShortageReason; readonly atMs: number } | undefined;
  /** What the Kubernetes side last said of the node (none until it says: not cordoned, no pods expected). */
  readonly demand: Pick<PoolSnapshot, 'cordoned' | 'expectedPods'>;
}

export const initialState: EngineState = Object.freeze({
  ready: false,
  primaryGroups: [],
  waiting: new Set<string>(),
  handles: new Map<string, EniHandle>(),
  awaitingImds: new Map<string, AwaitingImds>(),
  lastDecreaseAt: Number.NEGATIVE_INFINITY,
  lastReconcileAt: Number.NEGATIVE_INFINITY,
  lastSweepAt: undefined,
  prefixFallbackUntil: Number.NEGATIVE_INFINITY,
  growthPausedUntil: Number.NEGATIVE_INFINITY,
  cloudFailure: undefined,
  demand: { cordoned: false, expectedPods: 0 },
});

/** The parts of the policy's snapshot that come from the engine's state rather than the datastore. */
export function poolFacts(state: EngineState, now: number): Omit<PoolSnapshot, 'enis'> {
  return {
    pendingPods: state.waiting.size,
    msSinceLastDecrease: now - state.lastDecreaseAt,
    prefixFallback: now < state.prefixFallbackUntil,
    ...state.demand,
  };
}

export function growthHeld(state: EngineState, now: number): boolean {
  // While the last growth is not visible in IMDS yet the pool would only buy the same addresses twice.
  return now < state.growthPausedUntil || state.awaitingImds.size > 0;
}

export function reconcileDue(state: EngineState, now: number): boolean {
  return now - state.lastReconcileAt >= RECONCILE_INTERVAL_MS;
}

/** Whether the leaked-ENI sweep is due; the state it returns has the period's start recorded. */
export function sweepDue(state: EngineState, now: number): { readonly due: boolean; readonly state: EngineState } {
  const last = state.lastSweepAt ?? now;
  const due = now - last >= LEAK_SWEEP_INTERVAL_MS;
  return { due, state: { ...state, lastSweepAt: due ? now : last } };
}

/** A carried-out action: giving addresses or an ENI back starts the decrease interval again. */
export function afterAction(state: EngineState, action: Action, now: number): EngineState {
  return action.kind === 'release-ips' || action.kind === 'free-eni' ? { ...state, lastDecreaseAt: now } : state;
}

/** The failure kinds of `cloud/errors.ts`, as the policy reads them. */
export interface Failure {
  readonly kind: string;
  readonly code: string;
  readonly message: string;
}

export interface FailureFacts {
  /** The subnet new addresses came from (the most free candidate), when known. */
  readonly subnet?: { readonly id: string; readonly free: number };
  /** From the client's last throttle. */
  readonly retryInMs?: number;
}

export interface Outcome {
  readonly state: EngineState;
  readonly events: ReadonlyArray<{ readonly kind: 'action-failed' | 'prefix-fallback'; readonly message: string }>;
}

/** A failed action: which pause, fallback or re-read follows, and what to tell the operator. */
export function afterFailure(
  state: EngineState,
  action: Action,
  failure: Failure,
  now: number,
  facts: FailureFacts = {},
): Outcome {
  const failed = { kind: 'action-failed' as const, message: `${describeAction(action)}: ${failure.message}` };
  const prefix = 'prefix' in action && action.prefix;
  if (failure.kind === 'insufficient_cidr' && prefix) {
    return {
      state: { ...state, prefixFallbackUntil: now + INSUFFICIENT_CAPACITY_PAUSE_MS },
      events: [
        failed,
        {
          kind: 'prefix-fallback',
          message: 'no free /28 in the subnet (InsufficientCidrBlocks): growing with single addresses',
        },
      ],
    };
  }
  const fail = (reason: ShortageReason): Outcome => ({
    state: { ...state, cloudFailure: { reason, atMs: now } },
    events: [failed],
  });
  switch (failure.kind) {
    case 'subnet_full':
    case 'insufficient_cidr': {
      const reason: ShortageReason = {
        code: 'SUBNET_EXHAUSTED',
        subnetId: facts.subnet?.id ?? 'unknown',
        free: facts.subnet?.free ?? 0,
        prefix: failure.kind === 'insufficient_cidr',
      };
      return {
        state: {
          ...state,
          growthPausedUntil: now + INSUFFICIENT_CAPACITY_PAUSE_MS,
          cloudFailure: { reason, atMs: now },
        },
        events: [failed],
      };
    }
    case 'throttled':
      return fail({ code: 'EC2_THROTTLED', retryInMs: facts.retryInMs ?? 0 });
    case 'eni_limit':
    case 'ip_limit':
      // EC2 knows better than our view: re-read it on the next step.
      return { state: { ...state, lastReconcileAt: Number.NEGATIVE_INFINITY }, events: [failed] };
    default:
      return fail({ code: 'EC2_ERROR', errorCode: failure.code, message: failure.message });
  }
}

/** The cloud-side reason a pod waits, while it is current: IMDS lag first, then the last failure's. */
export function currentFailure(state: EngineState, now: number): ShortageReason | undefined {
  const [eniId, awaiting] = [...state.awaitingImds.entries()][0] ?? [];
  if (eniId !== undefined && awaiting !== undefined) {
    return { code: 'IMDS_SYNC_PENDING', eniId, waitedMs: now - awaiting.sinceMs };
  }
  const f = state.cloudFailure;
  return f !== undefined && now - f.atMs < INSUFFICIENT_CAPACITY_PAUSE_MS ? f.reason : undefined;
}

/** Shortages that only time or the loop can end; the others (ENI_LIMIT, MAX_PODS, SUBNET_EXHAUSTED) will not pass. */
export function worthWaiting(reason: ShortageReason): boolean {
  return !['ENI_LIMIT', 'MAX_PODS', 'SUBNET_EXHAUSTED', 'EC2_ERROR'].includes(reason.code);
}

export function withWaiting(state: EngineState, key: string, waiting: boolean): EngineState {
  if (state.waiting.has(key) === waiting) return state;
  const next = new Set(state.waiting);
  if (waiting) next.add(key);
  else next.delete(key);
  return { ...state, waiting: next };
}

export function withHandle(state: EngineState, eniId: string, handle: EniHandle | undefined): EngineState {
  const next = new Map(state.handles);
  if (handle === undefined) next.delete(eniId);
  else next.set(eniId, handle);
  return { ...state, handles: next };
}

/** New addresses of an ENI join its IMDS wait (the clock starts at the first of them). */
export function awaitImds(state: EngineState, eniId: string, cidrs: readonly LandingCidr[], now: number): EngineState {
  const current = state.awaitingImds.get(eniId);
  const next = new Map(state.awaitingImds);
  next.set(eniId, { cidrs: [...(current?.cidrs ?? []), ...cidrs], sinceMs: current?.sinceMs ?? now });
  return { ...state, awaitingImds: next };
}

/**
 * One IMDS look at an ENI: the CIDRs IMDS shows land; past `maxWaitMs` the rest land too (EC2 already confirmed them),
 * and `unconfirmed` says so.
 */
export function landFromImds(
  state: EngineState,
  eniId: string,
  visible: ReadonlySet<string>,
  now: number,
  maxWaitMs: number,
): { readonly state: EngineState; readonly landing: readonly LandingCidr[]; readonly unconfirmed: boolean } {
  const awaiting = state.awaitingImds.get(eniId);
  if (awaiting === undefined) return { state, landing: [], unconfirmed: false };
  const expired = now - awaiting.sinceMs >= maxWaitMs;
  const landing = awaiting.cidrs.filter((c) => expired || visible.has(c.cidr));
  const rest = awaiting.cidrs.filter((c) => !landing.includes(c));
  const next = new Map(state.awaitingImds);
  if (rest.length === 0) next.delete(eniId);
  else next.set(eniId, { ...awaiting, cidrs: rest });
  return {
    state: { ...state, awaitingImds: next },
    landing,
    unconfirmed: expired && landing.some((c) => !visible.has(c.cidr)),
  };
}

export function describeAction(action: Action): string {
  switch (action.kind) {
    case 'assign-ips':
      return `assign ${action.count} ${action.prefix ? 'prefixes' : 'addresses'} to ${action.eni}`;
    case 'attach-eni':
      return `attach an ENI with ${action.count} ${action.prefix ? 'prefixes' : 'addresses'}`;
    case 'release-ips':
      return `release ${action.cidrs.join(', ')} from ${action.eni}`;
    case 'free-eni':
      return `free ${action.eni}`;
  }
}
