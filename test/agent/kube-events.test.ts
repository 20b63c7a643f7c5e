import test from 'ava';
import {
  COMBINED_PREFIX,
  type CorrelatorLimits,
  EventCorrelator,
  type EventSpec,
  type EventWrite,
} from '../../src/agent/kube/correlate.ts';
import { shortageEvent } from '../../src/agent/kube/shortage-event.ts';

const pod = { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u1' } as const;
const failing: EventSpec = {
  object: pod,
  type: 'Warning',
  reason: 'FailedIPAMEniLimit',
  message: 'ENI_LIMIT(3/3 ENIs)',
};
const LIMITS: CorrelatorLimits = {
  burst: 25,
  refillMs: 300_000,
  similarMax: 10,
  similarWindowMs: 600_000,
  maxKeys: 64,
};

function summary(writes: readonly (EventWrite | undefined)[]) {
  return writes.map((w) => (w === undefined ? 'dropped' : w.verb === 'create' ? 'create' : `patch ${w.count}`));
}

test('an ADD retried for the same pod and reason is one Event whose count climbs', (t) => {
  const correlator = new EventCorrelator(LIMITS);
  const writes = Array.from({ length: 4 }, (_, i) => correlator.observe(failing, 1_000 + i * 2_000));
  t.deepEqual(summary(writes), ['create', 'patch 2', 'patch 3', 'patch 4']);
  t.true(
    writes.every((w) => w?.name === writes[0]!.name),
    'every patch names the created Event',
  );
  t.is(writes[0]!.namespace, 'default');
  t.regex(writes[0]!.name, /^web-1\.[0-9a-f]+$/);
});

test('a storm beyond the burst is dropped, and the bucket refills one event per 5 minutes', (t) => {
  const correlator = new EventCorrelator(LIMITS);
  const storm = Array.from({ length: 40 }, (_, i) => correlator.observe(failing, 1_000 + i));
  t.is(storm.filter((w) => w !== undefined).length, 25);
  t.is(correlator.observe(failing, 1_000 + 60_000), undefined, 'a minute later: still no token');
  const later = correlator.observe(failing, 1_000 + 310_000);
  t.like(later, { verb: 'patch', count: 42 }, 'the dropped occurrences are counted in the next patch');
});

test('the spam filter is per object and reason: another pod, or another reason, still gets its Event', (t) => {
  const correlator = new EventCorrelator(LIMITS);
  for (let i = 0; i < 30; i++) correlator.observe(failing, i);
  t.is(correlator.observe(failing, 31), undefined);
  const other = correlator.observe({ ...failing, object: { ...pod, name: 'web-2', uid: 'u2' } }, 31);
  t.like(other, { verb: 'create' });
  t.like(correlator.observe({ ...failing, reason: 'FailedIPAMSubnetExhausted' }, 31), { verb: 'create' });
});

test('more than 10 similar messages in 10 minutes are combined into one Event', (t) => {
  const correlator = new EventCorrelator(LIMITS);
  const writes = Array.from({ length: 13 }, (_, i) =>
    correlator.observe({ ...failing, message: `ENI_LIMIT(${i} slots)` }, i * 1_000),
  );
  t.deepEqual(summary(writes), [...Array.from({ length: 11 }, () => 'create'), 'patch 2', 'patch 3']);
  t.true(writes[10]!.spec.message.startsWith(COMBINED_PREFIX));
  t.is(writes[11]!.name, writes[10]!.name);
  t.is(writes[12]!.spec.message, `${COMBINED_PREFIX}ENI_LIMIT(12 slots)`, 'the combined Event shows the latest');
  // After the window the messages stand alone again.
  t.is(
    correlator.observe({ ...failing, message: 'ENI_LIMIT(99 slots)' }, 700_000)?.spec.message,
    'ENI_LIMIT(99 slots)',
  );
});

test('a node Event goes to the default namespace; a forgotten Event is created anew', (t) => {
  const correlator = new EventCorrelator(LIMITS);
  const node = { object: { kind: 'Node', name: 'ip-10-0-0-1' }, type: 'Normal', reason: 'R', message: 'm' } as const;
  const first = correlator.observe(node, 0)!;
  t.like(first, { verb: 'create', namespace: 'default' });
  correlator.forget(first.name);
  t.like(correlator.observe(node, 1), { verb: 'create' });
});

test('the correlator remembers at most maxKeys events', (t) => {
  const correlator = new EventCorrelator({ ...LIMITS, maxKeys: 2 });
  const spec = (name: string): EventSpec => ({ ...failing, object: { ...pod, name } });
  correlator.observe(spec('a'), 0);
  correlator.observe(spec('b'), 0);
  correlator.observe(spec('c'), 0);
  t.like(correlator.observe(spec('a'), 1), { verb: 'create' }, 'the oldest was forgotten');
  t.like(correlator.observe(spec('c'), 1), { verb: 'patch', count: 2 });
});

test('a shortage becomes a Warning naming the code, the numbers and what to do', (t) => {
  const event = shortageEvent(pod, { code: 'ENI_LIMIT', enis: 3, maxEnis: 3, slotsUsed: 15, slots: 15 });
  t.is(event.type, 'Warning');
  t.is(event.reason, 'FailedIPAMEniLimit');
  t.is(
    event.message,
    'ENI_LIMIT(3/3 ENIs, 15/15 slots): the node has 3 of 3 ENIs and 15 of 15 address slots in use; this instance type holds no more pods (use a larger type or ENABLE_PREFIX_DELEGATION)',
  );
  t.is(shortageEvent(pod, { code: 'EC2_THROTTLED', retryInMs: 1500 }).reason, 'FailedIPAMEc2Throttled');
});
