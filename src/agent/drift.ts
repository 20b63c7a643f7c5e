/**
 * Host-plan drift repair: someone flushed the nat table, deleted a pod's route or turned rp_filter back, and the node
 * converges again without waiting for a restart. A timer re-plans every drift period; kernel change events (`ip monitor`
 * for links, addresses, routes, rules and sysctls, `nft monitor` for the ruleset iptables-nft writes to) re-plan within
 * a debounce of the change. An event only triggers a re-plan: the agent's and the plugin's own writes show up as events
 * too, and the re-plan finds nothing to do for them. A change is called a repair only when it puts back an object the
 * sync before had already put in place (a new ENI's routes or a pod being wired are the plan growing, not drift), and
 * each one is said object by object on the bus and in the log. What the applier does not own (someone else's rule,
 * route or iptables rule) is invisible to its diff, so it is never touched here either.
 */
import type { Change } from '../apply/diff.ts';
import { identity } from '../apply/keys.ts';
import type { Runner, Watched } from '../apply/run.ts';
import type { HostPlan, PlanObject } from '../compiler/plan.ts';
import { describe } from '../compiler/render/index.ts';
import { counted } from '../lib/counted.ts';
import { IncompletePlanError, type SyncReport } from './host-network.ts';
import type { Log } from './log.ts';
import type { AgentExtension } from './view.ts';

/** How often the host is re-planned without any kernel event (events usually come first). */
export const DRIFT_PERIOD_MS = 30_000;
/** Quiet time after the last kernel event before the re-plan: one `iptables -t nat -F` is a burst of events. */
const DEBOUNCE_MS = 200;
/** A steady stream of events still gets its re-plan this soon after the first of them. */
const MAX_DEFER_MS = 2_000;
/**
 * Kernel events wait this long after the last ADD or DEL: the plugin's wiring is a stream of events of its own (veths,
 * routes, rules) that a re-plan would only find matching the plan, and during a burst of ADDs a re-plan would take the
 * apply lock and IMDS from them. The timer's re-plans still run.
 */
const POD_QUIET_MS = 2_000;
/** A monitor that died is started again after this, doubling up to the maximum while it keeps dying young. */
const RESTART_MS = { first: 500, max: 30_000 } as const;
/** A monitor that ran this long was healthy: its next death restarts it after the first delay again. */
const HEALTHY_MS = 10_000;
/** Kernel events remembered while no sync answers them (a flood beyond this keeps the oldest, which times a repair). */
const MAX_UNANSWERED = 256;
/** A re-plan deferred because IMDS lags behind a pod's new address is tried again after this (ADDs paused), */
const RETRY_MS = 2_000;
/** and the loop fails (and backs off) once that has lasted this long, or a period when that is longer. */
const DEFER_LIMIT_MS = 30_000;

/** The loop's name on the agent's scheduler (its status, its loop-ok/loop-failed events). */
export const DRIFT_LOOP = 'drift-repair';

/** The kernel change streams that can show drift, each run in the node's namespace. */
const MONITORS: readonly { readonly file: string; readonly args: readonly string[] }[] = [
  { file: 'ip', args: ['-o', 'monitor', 'link', 'address', 'route', 'rule', 'netconf'] },
  { file: 'nft', args: ['monitor'] },
];

function presentObjects(plan: HostPlan): PlanObject[] {
  return [
    ...plan.sysctls,
    ...plan.links,
    ...plan.addresses,
    ...plan.routes,
    ...plan.rules,
    ...plan.iptablesChains,
    ...plan.iptablesRules,
    ...plan.nftTables,
  ];
}

function absentObjects(plan: HostPlan): PlanObject[] {
  return [...plan.absentRoutes, ...(plan.absentRules ?? [])];
}

const identities = (objects: readonly PlanObject[]) => new Map(objects.map((o) => [identity(o), JSON.stringify(o)]));

/**
 * PURE: the changes of a sync that undo drift. An add or replace is drift when the plan before wanted that very object
 * (so the host had it, and someone took it away or changed it). A delete is drift when the plan before did not want
 * the object (someone put it there: a rule at one of our priorities, a route in one of our tables) and, for an object
 * the plan wants absent, when the plan before wanted it absent too (a new ENI's subnet route is the plan growing). The
 * first sync has nothing before it: converging at start is not a repair.
 */
export function driftChanges(report: Pick<SyncReport, 'applied' | 'plan' | 'previousPlan'>): Change[] {
  if (report.previousPlan === undefined) return [];
  const wanted = identities(presentObjects(report.previousPlan));
  const wasAbsent = identities(absentObjects(report.previousPlan));
  const isAbsent = identities(absentObjects(report.plan));
  return report.applied.filter((change) => {
    const id = identity(change.object);
    if (change.kind !== 'delete') return wanted.get(id) === JSON.stringify(change.object);
    if (wanted.has(id)) return false;
    return !isAbsent.has(id) || wasAbsent.get(id) === isAbsent.get(id);
  });
}

/** What a repair did to one object, as the log and the node's Event say it. */
export function restoredLine(change: Change): string {
  if (change.kind === 'delete') return `${describe(change.object)} removed (${change.reason})`;
  return `${describe(change.object)} restored (${change.reason})`;
}

export interface DriftRepairOptions {
  /** The timer's period (tests and the bench shorten it); default DRIFT_PERIOD_MS. */
  readonly periodMs?: number;
  /** Re-plan on kernel change events too (default); off leaves the timer alone (the bench compares the two). */
  readonly watch?: boolean;
}

export interface MonitorStatus {
  readonly command: string;
  /** undefined while it waits to be started again. */
  readonly pid: number | undefined;
  readonly restarts: number;
}

/** The drift repair as an agent extension: its loop runs on the agent's scheduler. */
export interface DriftRepair extends AgentExtension {
  /** The kernel monitors, as running now (none before start or with `watch: false`). */
  monitors(): readonly MonitorStatus[];
}

/** A kernel change stream kept running: each chunk of output is an event; a monitor that exits is started again. */
class Monitor {
  readonly command: string;
  readonly #start: () => Watched;
  readonly #onEvent: () => void;
  readonly #log: Log;
  #process: Watched | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #delayMs: number = RESTART_MS.first;
  #stopped = false;

  constructor(runner: Runner, file: string, args: readonly string[], onEvent: () => void, log: Log) {
    this.command = [file, ...args].join(' ');
    this.#start = () => runner.watch(file, args);
    this.#onEvent = onEvent;
    this.#log = log;
    this.#run();
  }

  get status(): MonitorStatus {
    return { command: this.command, pid: this.#process?.pid, restarts: this.#restarts };
  }

  #run(): void {
    const started = performance.now();
    const child = this.#start();
    this.#process = child;
    child.stdout.on('data', this.#onEvent);
    void child.then((result) => {
      this.#process = undefined;
      if (this.#stopped) return;
      if (performance.now() - started >= HEALTHY_MS) this.#delayMs = RESTART_MS.first;
      const how = result.signal === undefined ? `exited ${result.exitCode}` : `was killed (${result.signal})`;
      this.#log.warn(`drift repair: ${this.command} ${how}; starting it again in ${this.#delayMs} ms`);
      this.#restartTimer = setTimeout(() => {
        this.#restarts++;
        this.#run();
      }, this.#delayMs);
      this.#delayMs = Math.min(this.#delayMs * 2, RESTART_MS.max);
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    const child = this.#process;
    if (child === undefined) return;
    child.kill();
    await child;
  }
}

/**
 * The drift repair: a loop on the agent's scheduler (period with jitter; a failing re-plan backs off and shows in the
 * loop's status and on the bus), kicked by the debounced kernel events once the agent is ready. It never blocks ADD:
 * it runs beside the socket, and its sync holds the apply lock only for one read (and the writes of a repair). Its
 * re-plans do not run while IMDS does not yet show an address IPAM handed to a pod (a plan without the pod would
 * unwire it): they are retried shortly, and fail the loop only after DEFER_LIMIT_MS of that. Event-driven re-plans
 * wait for ADDs and DELs to pause; all plan with the facts IMDS gave last unless those miss a pod. What any sync puts back (this loop's, or the pool loop's
 * after an ENI attach) is announced, timed from the first kernel event it answers.
 */
export function driftRepair(o: DriftRepairOptions & { readonly log: Log }): DriftRepair {
  const periodMs = o.periodMs ?? DRIFT_PERIOD_MS;
  const { log } = o;
  let monitors: Monitor[] = [];
  return {
    name: 'drift repair',
    monitors: () => monitors.map((m) => m.status),
    async start(view) {
      const { host, bus } = view;
      const now = () => performance.now();
      /** Times of the kernel events no sync has answered yet, oldest first (bounded: only the oldest must be exact). */
      const unanswered: number[] = [];
      /** When the first kernel event since the last kick arrived (the debounce counts from it). */
      let burstAt: number | undefined;
      let debounce: NodeJS.Timeout | undefined;
      let retry: NodeJS.Timeout | undefined;
      /** Since when re-plans have been deferred because IMDS lags behind a pod's address. */
      let deferredSince: number | undefined;

      const announce = (report: SyncReport) => {
        // A sync answers the events that came before it began reading.
        const oldest = unanswered[0];
        while (unanswered.length > 0 && unanswered[0]! <= report.startedAt) unanswered.shift();
        const repaired = driftChanges(report);
        if (repaired.length === 0) return;
        const restored = repaired.map(restoredLine);
        const detectedAt = oldest !== undefined && oldest <= report.startedAt ? oldest : report.startedAt;
        const ms = now() - detectedAt;
        bus.publish({ kind: 'drift-repaired', restored, detectionToRepairMs: ms });
        log.warn(`drift repair: ${counted(restored.length, 'object')} put back in ${Math.round(ms)} ms`);
        for (const line of restored) log.warn(`drift repair: ${line}`);
      };
      const unsubscribe = host.onSynced(announce);

      /** When the last ADD or DEL ended. */
      let podActivityAt = Number.NEGATIVE_INFINITY;
      const unsubscribePods = bus.subscribe((event) => {
        if (event.kind === 'add' || event.kind === 'del') podActivityAt = now();
      });
      const kick = () => {
        const quietAt = podActivityAt + POD_QUIET_MS;
        if (now() < quietAt) {
          debounce = setTimeout(kick, quietAt - now());
          return;
        }
        burstAt = undefined;
        view.kickLoop(DRIFT_LOOP);
      };
      const onEvent = () => {
        const at = now();
        if (unanswered.length >= MAX_UNANSWERED) unanswered.splice(1, 1);
        unanswered.push(at);
        // Start-up converges the host itself; the timer covers anything before readiness.
        if (!view.readiness().ready) return;
        burstAt ??= at;
        // Each event restarts the quiet period, but never past MAX_DEFER_MS after the first one.
        clearTimeout(debounce);
        debounce = setTimeout(kick, Math.max(0, Math.min(at + DEBOUNCE_MS, burstAt + MAX_DEFER_MS) - at));
      };

      view.registerLoop(DRIFT_LOOP, periodMs, async () => {
        try {
          // Drift is in the kernel, not in IMDS (ENIs and VPC blocks have loops of their own): the facts IMDS gave
          // last will do, unless they miss a pod's address.
          await host.sync({ reuseFacts: true, everyPod: true });
          deferredSince = undefined;
        } catch (error) {
          if (!(error instanceof IncompletePlanError)) throw error;
          deferredSince ??= now();
          if (now() - deferredSince >= Math.max(periodMs, DEFER_LIMIT_MS)) throw error;
          log.debug(`drift repair: ${error.message}; again in ${RETRY_MS} ms`);
          clearTimeout(retry);
          retry = setTimeout(kick, RETRY_MS);
        }
      });
      monitors = o.watch === false ? [] : MONITORS.map((m) => new Monitor(host.runner, m.file, m.args, onEvent, log));
      log.info(
        `drift repair: re-planning every ${periodMs} ms${monitors.length > 0 ? ` and on kernel changes (${monitors.map((m) => m.command).join('; ')})` : ''}`,
      );
      return {
        async stop() {
          clearTimeout(debounce);
          clearTimeout(retry);
          unsubscribe();
          unsubscribePods();
          await Promise.all(monitors.map((m) => m.stop()));
        },
      };
    },
  };
}
