import test from 'ava';
import type { AgentEvent } from '../../src/agent/bus.ts';
import { LoopScheduler, type Timers } from '../../src/agent/loops.ts';

/** Timers on a virtual clock: `advance` fires what falls due, in order, letting each run's promises settle. */
class VirtualTimers implements Timers {
  #now = 0;
  #next = 1;
  readonly #due = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  set(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.#due.delete(handle as number);
  }
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    for (;;) {
      await settle();
      const [id, first] = [...this.#due.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || first === undefined || first.at > until) break;
      this.#due.delete(id);
      this.#now = first.at;
      first.fn();
    }
    this.#now = until;
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function setUp(random = () => 0.5) {
  const timers = new VirtualTimers();
  const events: AgentEvent[] = [];
  const scheduler = new LoopScheduler({ timers, random, publish: (e) => events.push(e) });
  return { timers, events, scheduler };
}

test('a loop runs every period and reports each run', async (t) => {
  const { timers, events, scheduler } = setUp();
  let runs = 0;
  scheduler.register('warm-pool', 5_000, async () => {
    runs++;
  });
  await timers.advance(4_999);
  t.is(runs, 0, 'the first run waits one period');
  await timers.advance(1);
  t.is(runs, 1);
  await timers.advance(10_000);
  t.is(runs, 3);
  t.deepEqual(
    events.map((e) => e.kind),
    ['loop-ok', 'loop-ok', 'loop-ok'],
  );
  t.like(scheduler.statuses()[0], { name: 'warm-pool', periodMs: 5_000, runs: 3, failures: 0, lastOkAtMs: 15_000 });
  t.is(scheduler.statuses()[0]!.nextAtMs, 20_000);
});

test('jitter spreads the delay by ±10 % of the period', async (t) => {
  for (const [random, at] of [
    [0, 9_000],
    [1, 11_000],
  ] as const) {
    const { timers, scheduler } = setUp(() => random);
    scheduler.register('reconcile', 10_000, async () => {}, { firstRunMs: 0 });
    await timers.advance(0);
    t.is(scheduler.statuses()[0]!.nextAtMs, at);
  }
});

test('a failing loop backs off exponentially up to its bound, never throws, and recovers', async (t) => {
  const { timers, events, scheduler } = setUp();
  let fail = true;
  scheduler.register(
    'reconcile',
    1_000,
    async () => {
      if (fail) throw new Error('RequestLimitExceeded');
    },
    { firstRunMs: 0, maxBackoffMs: 8_000 },
  );
  const next: number[] = [];
  for (let i = 0; i < 6; i++) {
    const at = scheduler.statuses()[0]!.nextAtMs!;
    await timers.advance(at - timers.now());
    next.push(scheduler.statuses()[0]!.nextAtMs! - timers.now());
  }
  t.deepEqual(next, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
  t.like(scheduler.statuses()[0], { failures: 6, consecutiveFailures: 6, lastError: 'RequestLimitExceeded' });
  t.like(events.at(-1), { kind: 'loop-failed', loop: 'reconcile', consecutive: 6 });
  fail = false;
  await timers.advance(8_000);
  t.like(scheduler.statuses()[0], { consecutiveFailures: 0, failures: 6 });
  t.is(scheduler.statuses()[0]!.nextAtMs! - timers.now(), 1_000, 'back to the period');
});

test('kicks run the loop early and coalesce while it runs', async (t) => {
  const { timers, scheduler } = setUp();
  let runs = 0;
  let release: () => void = () => {};
  scheduler.register('warm-pool', 5_000, async () => {
    runs++;
    await new Promise<void>((resolve) => {
      release = resolve;
    });
  });
  scheduler.kick('warm-pool');
  await timers.advance(0);
  t.is(runs, 1, 'a kick runs at once');
  for (let i = 0; i < 10; i++) scheduler.kick('warm-pool');
  release();
  await timers.advance(0);
  t.is(runs, 2, 'ten kicks during a run are one more run');
  release();
  await timers.advance(0);
  t.is(runs, 2);
  scheduler.kick('no-such-loop');
});

test("a kick does not cut a failing loop's backoff", async (t) => {
  const { timers, scheduler } = setUp();
  let runs = 0;
  scheduler.register(
    'reconcile',
    1_000,
    async () => {
      runs++;
      throw new Error('down');
    },
    { firstRunMs: 0 },
  );
  await timers.advance(0);
  t.is(runs, 1);
  scheduler.kick('reconcile');
  await timers.advance(999);
  t.is(runs, 1);
  await timers.advance(1);
  t.is(runs, 2);
});

test('a slow loop can retry sooner than its period after a failure', async (t) => {
  const { timers, scheduler } = setUp();
  scheduler.register(
    'sweep',
    3_600_000,
    async () => {
      throw new Error('EC2 down');
    },
    { firstRunMs: 0, retryMs: 60_000 },
  );
  await timers.advance(0);
  t.is(scheduler.statuses()[0]!.nextAtMs, 60_000);
  await timers.advance(60_000);
  t.is(scheduler.statuses()[0]!.nextAtMs, 180_000, 'then doubled');
});

test('stop waits for the run in progress and starts none after', async (t) => {
  const { timers, scheduler } = setUp();
  let runs = 0;
  let ended = false;
  let release: () => void = () => {};
  scheduler.register(
    'sweep',
    1_000,
    async () => {
      runs++;
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      ended = true;
    },
    { firstRunMs: 0 },
  );
  await timers.advance(0);
  const stopped = scheduler.stop();
  release();
  await stopped;
  t.true(ended);
  await timers.advance(10_000);
  scheduler.kick('sweep');
  await timers.advance(0);
  t.is(runs, 1);
  t.is(scheduler.statuses()[0]!.nextAtMs, undefined);
});

test('a second loop with the same name is refused', (t) => {
  const { scheduler } = setUp();
  scheduler.register('a', 1, async () => {});
  t.throws(() => scheduler.register('a', 1, async () => {}), { message: /registered already/ });
  t.throws(() => scheduler.register('b', 0, async () => {}), { message: /period must be > 0/ });
});
