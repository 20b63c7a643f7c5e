/** The engine's pure transitions (policy/loop.ts) and its bounded event sink, as named-field tables. */
import test, { type ExecutionContext } from 'ava';
import { EventSink } from '../../src/ipam/events.ts';
import { decide } from '../../src/ipam/policy/decide.ts';
import {
  afterFailure,
  currentFailure,
  type EngineState,
  type Failure,
  INSUFFICIENT_CAPACITY_PAUSE_MS,
  initialState,
  LEAK_SWEEP_INTERVAL_MS,
  landFromImds,
  sweepDue,
} from '../../src/ipam/policy/loop.ts';
import type { Action, PoolSnapshot, WarmPoolPolicy } from '../../src/ipam/policy/types.ts';
import { basePolicy } from './fixtures.ts';

const policy: WarmPoolPolicy = { ...basePolicy, warmEniTarget: 0, warmIpTarget: 2 };
const emptyPool: PoolSnapshot = {
  enis: [{ id: 'eni-0', deviceNumber: 0, primary: true, ageMs: 3_600_000, cidrs: [] }],
  pendingPods: 0,
  msSinceLastDecrease: Number.POSITIVE_INFINITY,
  prefixFallback: false,
  cordoned: false,
  expectedPods: 0,
};
const NOW = 1_000_000;

/** Five free addresses on the primary ENI: three above WARM_IP_TARGET=2. */
const fullPool: PoolSnapshot = {
  ...emptyPool,
  enis: [
    {
      ...emptyPool.enis[0]!,
      cidrs: [1, 2, 3, 4, 5].map((i) => ({
        cidr: `10.0.0.${i}/32`,
        prefix: false,
        size: 1,
        assigned: 0,
        cooling: 0,
        quarantined: 0,
      })),
    },
  ],
};

interface DecideRow {
  readonly state: Partial<EngineState>;
  readonly pool?: PoolSnapshot;
  readonly kinds: ReadonlyArray<Action['kind']>;
}
const decides = test.macro((t: ExecutionContext, row: DecideRow) => {
  t.deepEqual(
    decide({ ...initialState, ...row.state }, row.pool ?? emptyPool, NOW, policy).map((a) => a.kind),
    row.kinds,
  );
});
test('an empty pool grows', decides, { state: {}, kinds: ['assign-ips'] });
test('a capacity pause holds growth', decides, { state: { growthPausedUntil: NOW + 1 }, kinds: [] });
test('a pause that has passed does not', decides, { state: { growthPausedUntil: NOW }, kinds: ['assign-ips'] });
test('a capacity pause does not hold giving back a surplus', decides, {
  state: { growthPausedUntil: NOW + 1 },
  pool: fullPool,
  kinds: ['release-ips'],
});
test('addresses awaiting IMDS hold growth', decides, {
  state: { awaitingImds: new Map([['eni-0', { cidrs: [], sinceMs: NOW }]]) },
  kinds: [],
});

interface FailureRow {
  readonly action: Action;
  readonly failure: Failure;
  readonly expect: {
    readonly growthPausedUntil: number;
    readonly prefixFallbackUntil: number;
    readonly reason: string | undefined;
    readonly events: ReadonlyArray<string>;
  };
}
const grow32: Action = { kind: 'assign-ips', eni: 'eni-0', count: 2, prefix: false, reason: 'low' };
const grow28: Action = { ...grow32, prefix: true };
const none = Number.NEGATIVE_INFINITY;
const pause = NOW + INSUFFICIENT_CAPACITY_PAUSE_MS;
const failures = test.macro((t: ExecutionContext, row: FailureRow) => {
  const out = afterFailure(initialState, row.action, row.failure, NOW, {
    subnet: { id: 'subnet-1', free: 0 },
    retryInMs: 800,
  });
  t.deepEqual(
    {
      growthPausedUntil: out.state.growthPausedUntil,
      prefixFallbackUntil: out.state.prefixFallbackUntil,
      reason: currentFailure(out.state, NOW)?.code,
      events: out.events.map((e) => e.kind),
    },
    row.expect,
  );
});
const fail = (kind: string): Failure => ({ kind, code: kind, message: `${kind} happened` });
test('no /28 left while growing prefixes: fall back to /32s, no pause', failures, {
  action: grow28,
  failure: fail('insufficient_cidr'),
  expect: {
    growthPausedUntil: none,
    prefixFallbackUntil: pause,
    reason: undefined,
    events: ['action-failed', 'prefix-fallback'],
  },
});
test('a full subnet pauses growth and names the subnet', failures, {
  action: grow32,
  failure: fail('subnet_full'),
  expect: {
    growthPausedUntil: pause,
    prefixFallbackUntil: none,
    reason: 'SUBNET_EXHAUSTED',
    events: ['action-failed'],
  },
});
test('throttling is reported, growth is not paused', failures, {
  action: grow32,
  failure: fail('throttled'),
  expect: {
    growthPausedUntil: none,
    prefixFallbackUntil: none,
    reason: 'EC2_THROTTLED',
    events: ['action-failed'],
  },
});
test('an unexpected error is EC2_ERROR', failures, {
  action: grow32,
  failure: fail('unauthorized'),
  expect: {
    growthPausedUntil: none,
    prefixFallbackUntil: none,
    reason: 'EC2_ERROR',
    events: ['action-failed'],
  },
});

test('an ENI limit from EC2 makes the next step re-read EC2', (t) => {
  const state = { ...initialState, lastReconcileAt: NOW };
  const out = afterFailure(state, grow32, fail('eni_limit'), NOW);
  t.is(out.state.lastReconcileAt, Number.NEGATIVE_INFINITY);
  t.is(currentFailure(out.state, NOW), undefined);
});

test('a failure stops being the reason once the pause has passed', (t) => {
  const out = afterFailure(initialState, grow32, fail('throttled'), NOW, { retryInMs: 1 });
  t.is(currentFailure(out.state, NOW + INSUFFICIENT_CAPACITY_PAUSE_MS - 1)?.code, 'EC2_THROTTLED');
  t.is(currentFailure(out.state, NOW + INSUFFICIENT_CAPACITY_PAUSE_MS), undefined);
});

interface LandRow {
  readonly visible: readonly string[];
  readonly waitedMs: number;
  readonly expect: {
    readonly landing: readonly string[];
    readonly left: readonly string[];
    readonly unconfirmed: boolean;
  };
}
const lands = test.macro((t: ExecutionContext, row: LandRow) => {
  const cidrs = [
    { cidr: '10.0.0.10/32', prefix: false },
    { cidr: '10.0.0.11/32', prefix: false },
  ];
  const state = { ...initialState, awaitingImds: new Map([['eni-1', { cidrs, sinceMs: NOW - row.waitedMs }]]) };
  const out = landFromImds(state, 'eni-1', new Set(row.visible), NOW, 30_000);
  t.deepEqual(
    {
      landing: out.landing.map((c) => c.cidr),
      left: out.state.awaitingImds.get('eni-1')?.cidrs.map((c) => c.cidr) ?? [],
      unconfirmed: out.unconfirmed,
    },
    row.expect,
  );
});
test('IMDS shows one of two: that one lands', lands, {
  visible: ['10.0.0.10/32'],
  waitedMs: 1_000,
  expect: { landing: ['10.0.0.10/32'], left: ['10.0.0.11/32'], unconfirmed: false },
});
test('past the bound, all land and it is said', lands, {
  visible: [],
  waitedMs: 30_000,
  expect: { landing: ['10.0.0.10/32', '10.0.0.11/32'], left: [], unconfirmed: true },
});

test('the first leak sweep waits a full period', (t) => {
  const first = sweepDue(initialState, NOW);
  t.false(first.due);
  t.false(sweepDue(first.state, NOW + LEAK_SWEEP_INTERVAL_MS - 1).due);
  const due = sweepDue(first.state, NOW + LEAK_SWEEP_INTERVAL_MS);
  t.true(due.due);
  t.is(due.state.lastSweepAt, NOW + LEAK_SWEEP_INTERVAL_MS);
});

test('the event sink keeps the last N, counts all, and tells subscribers', (t) => {
  const sink = new EventSink(3);
  const seen: string[] = [];
  const off = sink.subscribe((e) => seen.push(e.message));
  sink.subscribe(() => {
    throw new Error('a broken logger');
  });
  for (let i = 0; i < 5; i++) sink.emit({ atMs: i, kind: i % 2 === 0 ? 'action' : 'note', message: `e${i}` });
  off();
  sink.emit({ atMs: 5, kind: 'action', message: 'e5' });
  t.deepEqual(
    sink.recent().map((e) => e.message),
    ['e3', 'e4', 'e5'],
  );
  t.deepEqual(seen, ['e0', 'e1', 'e2', 'e3', 'e4']);
  t.is(sink.total, 6);
  t.is(sink.dropped, 3);
  t.is(sink.count('action'), 4);
  t.is(sink.listenerFailures, 6);
});
