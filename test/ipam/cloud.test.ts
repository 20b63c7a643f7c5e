import test from 'ava';
import type { EniObservation } from '../../src/ipam/cloud/ec2.ts';
import { classify, retryable } from '../../src/ipam/cloud/errors.ts';
import { backoffMs, type Clock, Pacer } from '../../src/ipam/cloud/rate.ts';
import { rankSubnets, type SubnetInfo } from '../../src/ipam/cloud/subnets.ts';
import { reconcile } from '../../src/ipam/reconcile.ts';

test('EC2 error codes map to kinds, and only throttling and outages are retried', (t) => {
  const cases = [
    ['RequestLimitExceeded', 'throttled', true],
    ['InsufficientFreeAddressesInSubnet', 'subnet_full', false],
    ['InsufficientCidrBlocks', 'insufficient_cidr', false],
    ['AttachmentLimitExceeded', 'eni_limit', false],
    ['PrivateIpAddressLimitExceeded', 'ip_limit', false],
    ['InvalidNetworkInterfaceID.NotFound', 'not_found', false],
    ['UnauthorizedOperation', 'unauthorized', false],
    ['InternalError', 'unavailable', true],
    ['ECONNREFUSED', 'unavailable', true],
    ['SomethingNew', 'bug', false],
  ] as const;
  for (const [code, kind, retry] of cases) {
    const error = Object.assign(new Error('boom'), code === 'ECONNREFUSED' ? { code } : { name: code });
    const e = classify(error, 'AssignPrivateIpAddresses');
    t.is(e.kind, kind, code);
    t.is(retryable(e.kind), retry, code);
    t.is(e.message, `AssignPrivateIpAddresses: ${code}: boom`);
  }
});

function manualClock(): Clock & { t: number } {
  const clock = {
    t: 0,
    now: () => clock.t,
    sleep: async (ms: number) => {
      clock.t += ms;
    },
  };
  return clock;
}

test('the pacer lets a burst through, then paces calls at its rate', async (t) => {
  const clock = manualClock();
  const pacer = new Pacer({ ratePerSecond: 2, burst: 3 }, clock);
  const waits = [];
  for (let i = 0; i < 5; i++) waits.push(await pacer.take());
  t.deepEqual(waits, [0, 0, 0, 500, 500]);
  t.is(clock.t, 1000);
  clock.t += 10_000; // a quiet period refills to the burst, no more
  t.deepEqual([await pacer.take(), await pacer.take(), await pacer.take(), await pacer.take()], [0, 0, 0, 500]);
});

test('concurrent callers get tokens in arrival order, one rate apart', async (t) => {
  const clock = manualClock();
  const pacer = new Pacer({ ratePerSecond: 4, burst: 1 }, clock);
  const order: number[] = [];
  const waits = await Promise.all(
    [0, 1, 2, 3].map(async (i) => {
      const waited = await pacer.take();
      order.push(i);
      return waited;
    }),
  );
  t.deepEqual(order, [0, 1, 2, 3]);
  t.deepEqual(waits, [0, 250, 250, 250]);
});

test('a timer that fires early is slept again, never overdrawing the bucket', async (t) => {
  let now = 0;
  const slept: number[] = [];
  // The first sleep comes back 100 ms short, as a coarse timer may.
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += slept.length === 1 ? ms - 100 : ms;
    },
  };
  const pacer = new Pacer({ ratePerSecond: 1, burst: 1 }, clock);
  t.is(await pacer.take(), 0);
  t.is(await pacer.take(), 1000);
  t.deepEqual(slept, [1000, 100]);
  t.is(now, 1000);
});

test('backoff is full jitter under an exponential ceiling', (t) => {
  const spec = { baseMs: 100, maxMs: 1000 };
  t.is(
    backoffMs(0, spec, () => 1),
    100,
  );
  t.is(
    backoffMs(3, spec, () => 1),
    800,
  );
  t.is(
    backoffMs(10, spec, () => 1),
    1000,
  );
  t.is(
    backoffMs(10, spec, () => 0),
    0,
  );
});

test('subnet discovery: tagged subnets and the primary, most free first, cluster tags honoured', (t) => {
  const subnets: SubnetInfo[] = [
    { id: 'subnet-primary', free: 100, tags: {} },
    { id: 'subnet-pods', free: 4000, tags: { 'kubernetes.io/role/cni': '1' } },
    { id: 'subnet-untagged', free: 9000, tags: {} },
    { id: 'subnet-off', free: 9000, tags: { 'kubernetes.io/role/cni': '0' } },
    {
      id: 'subnet-other-cluster',
      free: 8000,
      tags: { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/other': '1' },
    },
    {
      id: 'subnet-ours',
      free: 50,
      tags: { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/prod': '1' },
    },
  ];
  t.deepEqual(
    rankSubnets(subnets, 'subnet-primary', 'prod').map((s) => s.id),
    ['subnet-pods', 'subnet-primary', 'subnet-ours'],
  );
});

const eni = (id: string, ips: string[], prefixes: string[] = []): EniObservation => ({
  id,
  deviceNumber: 1,
  attachmentId: `attach-${id}`,
  mac: '02:00:00:00:00:01',
  subnetId: 'subnet-a',
  primaryIp: '10.0.0.5',
  secondaryIps: ips,
  prefixes,
  securityGroups: [],
  tags: {},
});

test('reconcile adopts what EC2 lists and we lack', (t) => {
  t.deepEqual(reconcile([{ id: 'eni-1', cidrs: [] }], [eni('eni-1', ['10.0.0.10'], ['10.0.1.0/28'])]), [
    { kind: 'adopt-cidr', eniId: 'eni-1', cidr: '10.0.0.10/32', prefix: false },
    { kind: 'adopt-cidr', eniId: 'eni-1', cidr: '10.0.1.0/28', prefix: true },
  ]);
});

test('reconcile drops unowned CIDRs EC2 lost, quarantines owned ones, never drops an ENI with owners', (t) => {
  const held = [
    {
      id: 'eni-1',
      cidrs: [
        { cidr: '10.0.0.10/32', owners: 0, quarantined: false },
        { cidr: '10.0.0.11/32', owners: 1, quarantined: false },
      ],
    },
    { id: 'eni-2', cidrs: [{ cidr: '10.0.2.10/32', owners: 1, quarantined: false }] },
    { id: 'eni-3', cidrs: [{ cidr: '10.0.3.10/32', owners: 0, quarantined: false }] },
  ];
  t.deepEqual(reconcile(held, [eni('eni-1', [])]), [
    { kind: 'drop-cidr', eniId: 'eni-1', cidr: '10.0.0.10/32' },
    { kind: 'quarantine-cidr', eniId: 'eni-1', cidr: '10.0.0.11/32', owners: 1 },
    { kind: 'quarantine-cidr', eniId: 'eni-2', cidr: '10.0.2.10/32', owners: 1 },
    { kind: 'drop-cidr', eniId: 'eni-3', cidr: '10.0.3.10/32' },
    { kind: 'drop-eni', eniId: 'eni-3' },
  ]);
});

test('reconcile lifts a quarantine when EC2 lists the CIDR again, and ignores CIDRs being released', (t) => {
  const held = [{ id: 'eni-1', cidrs: [{ cidr: '10.0.0.11/32', owners: 1, quarantined: true }] }];
  t.deepEqual(reconcile(held, [eni('eni-1', ['10.0.0.11', '10.0.0.12'])], new Set(['10.0.0.12/32'])), [
    { kind: 'adopt-cidr', eniId: 'eni-1', cidr: '10.0.0.11/32', prefix: false },
  ]);
});
