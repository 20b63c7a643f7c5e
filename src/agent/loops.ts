/**
 * The agent's background loops (warm pool, EC2 reconcile, leaked-ENI sweep, VPC CIDR changes, drift repair) on one
 * small scheduler: each runs every period with jitter (a fleet restarted together must not call EC2 in step), backs
 * off exponentially while it fails (bounded), can be kicked to run early (kicks coalesce: a burst of ADDs is one
 * run), and reports each run on the bus and in its LoopStatus. A loop body that throws is a failed run, never a
 * crash; runs are plain async calls on the event loop, so a slow loop never holds an ADD, which does not wait for it.
 */
import type { AgentEvent } from './bus.ts';
import type { LoopOptions, LoopStatus } from './view.ts';

/** Time and timers, injected so tests run the loops on a virtual clock. */
export interface Timers {
  now(): number;
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  set: (fn, ms) => setTimeout(fn, ms).unref(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SchedulerOptions {
  readonly timers?: Timers;
  readonly random?: () => number;
  readonly publish: (event: AgentEvent) => void;
  /** Told of each failed run (the log). */
  readonly onError?: (loop: string, error: Error) => void;
}

const DEFAULT_JITTER = 0.1;
const DEFAULT_MAX_BACKOFF_MS = 300_000;

interface Loop {
  readonly name: string;
  readonly periodMs: number;
  readonly fn: () => Promise<void>;
  readonly jitter: number;
  readonly retryMs: number;
  readonly maxBackoffMs: number;
  runs: number;
  failures: number;
  consecutiveFailures: number;
  lastOkAtMs: number | undefined;
  lastError: string | undefined;
  nextAtMs: number | undefined;
  timer: unknown;
  running: Promise<void> | undefined;
  /** A kick arrived while running: run once more right after. */
  again: boolean;
}

export class LoopScheduler {
  readonly #timers: Timers;
  readonly #random: () => number;
  readonly #o: SchedulerOptions;
  readonly #loops = new Map<string, Loop>();
  #stopped = false;

  constructor(options: SchedulerOptions) {
    this.#o = options;
    this.#timers = options.timers ?? realTimers;
    this.#random = options.random ?? Math.random;
  }

  /** Adds a loop; its first run is one period from now unless `firstRunMs` says otherwise. */
  register(name: string, periodMs: number, fn: () => Promise<void>, options: LoopOptions = {}): void {
    if (this.#loops.has(name)) throw new Error(`loop ${name} is registered already`);
    if (!(periodMs > 0)) throw new RangeError(`loop ${name}: the period must be > 0, got ${periodMs}`);
    const loop: Loop = {
      name,
      periodMs,
      fn,
      jitter: options.jitter ?? DEFAULT_JITTER,
      retryMs: options.retryMs ?? periodMs,
      maxBackoffMs: Math.max(options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, periodMs),
      runs: 0,
      failures: 0,
      consecutiveFailures: 0,
      lastOkAtMs: undefined,
      lastError: undefined,
      nextAtMs: undefined,
      timer: undefined,
      running: undefined,
      again: false,
    };
    this.#loops.set(name, loop);
    if (!this.#stopped) this.#schedule(loop, options.firstRunMs ?? periodMs);
  }

  /**
   * Runs the loop as soon as it may: now, or right after the run in progress. A failing loop's backoff still holds
   * (it usually fails because EC2 or the kernel is struggling, which a kick would only make worse). Unknown names
   * are ignored, so a kicker need not know which loops this agent runs.
   */
  kick(name: string): void {
    const loop = this.#loops.get(name);
    if (loop === undefined || this.#stopped) return;
    if (loop.running !== undefined) {
      loop.again = true;
      return;
    }
    if (loop.consecutiveFailures > 0) return;
    this.#schedule(loop, 0);
  }

  statuses(): LoopStatus[] {
    return [...this.#loops.values()].map((l) => ({
      name: l.name,
      periodMs: l.periodMs,
      runs: l.runs,
      failures: l.failures,
      consecutiveFailures: l.consecutiveFailures,
      ...(l.lastOkAtMs === undefined ? {} : { lastOkAtMs: l.lastOkAtMs }),
      ...(l.lastError === undefined ? {} : { lastError: l.lastError }),
      ...(l.nextAtMs === undefined ? {} : { nextAtMs: l.nextAtMs }),
    }));
  }

  /** No run starts after this; resolves once the runs in progress have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const loop of this.#loops.values()) {
      this.#timers.clear(loop.timer);
      loop.nextAtMs = undefined;
    }
    await Promise.all([...this.#loops.values()].map((l) => l.running));
  }

  #schedule(loop: Loop, delayMs: number): void {
    this.#timers.clear(loop.timer);
    loop.nextAtMs = this.#timers.now() + delayMs;
    loop.timer = this.#timers.set(() => this.#run(loop), delayMs);
  }

  #run(loop: Loop): void {
    if (this.#stopped || loop.running !== undefined) return;
    loop.nextAtMs = undefined;
    const began = this.#timers.now();
    loop.running = (async () => {
      try {
        await loop.fn();
        loop.runs++;
        loop.consecutiveFailures = 0;
        loop.lastOkAtMs = this.#timers.now();
        this.#o.publish({ kind: 'loop-ok', loop: loop.name, ms: this.#timers.now() - began });
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error));
        loop.runs++;
        loop.failures++;
        loop.consecutiveFailures++;
        loop.lastError = e.message.slice(0, 1024);
        this.#o.publish({
          kind: 'loop-failed',
          loop: loop.name,
          error: loop.lastError,
          consecutive: loop.consecutiveFailures,
        });
        this.#o.onError?.(loop.name, e);
      }
    })().finally(() => {
      loop.running = undefined;
      if (this.#stopped) return;
      const kicked = loop.again && loop.consecutiveFailures === 0;
      loop.again = false;
      this.#schedule(loop, kicked ? 0 : this.#delay(loop));
    });
  }

  /** The next delay: the period, or after failures the retry delay doubled per failure up to the bound; jittered. */
  #delay(loop: Loop): number {
    const n = loop.consecutiveFailures;
    const base = n === 0 ? loop.periodMs : Math.min(loop.retryMs * 2 ** (n - 1), loop.maxBackoffMs);
    return Math.max(Math.round(base * (1 + loop.jitter * (2 * this.#random() - 1))), 0);
  }
}
