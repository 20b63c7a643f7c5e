import test, { type ExecutionContext } from 'ava';
import { instanceTypeLimits } from '../../src/data/instance-limits.ts';
import { decide } from '../../src/ipam/policy/decide.ts';
import { deletableEni, whyKeepEni } from '../../src/ipam/policy/enis.ts';
import { maxPodsFor, warmPoolPolicy } from '../../src/ipam/policy/limits.ts';
import { initialState } from '../../src/ipam/policy/loop.ts';
import { shortageReason } from '../../src/ipam/policy/shortage.ts';
import {
  type Counts,
  excess,
  isTooLow,
  type PrefixCounts,
  poolStats,
  prefixExcess,
  shortfall,
} from '../../src/ipam/policy/targets.ts';
import type { Action, CidrState, EniState, PoolSnapshot, WarmPoolPolicy } from '../../src/ipam/policy/types.ts';
import { formatReason } from '../../src/lib/shortage.ts';
import { basePolicy } from './fixtures.ts';

// ---- named-field tables for the arithmetic -------------------------------------------------------------------------

const short = test.macro((t: ExecutionContext, counts: Counts, expected: number) => {
  t.is(shortfall(counts), expected);
});
test('WARM_IP_TARGET=5 with 3 free asks for 2', short, { available: 3, total: 10, warm: 5, minimum: 0 }, 2);
test('MINIMUM_IP_TARGET=10 with 4 total asks for 6', short, { available: 4, total: 4, warm: 1, minimum: 10 }, 6);
test('t3.small 2/5 on an empty node asks for 5', short, { available: 0, total: 0, warm: 2, minimum: 5 }, 5);
test('targets met ask for nothing', short, { available: 5, total: 12, warm: 5, minimum: 10 }, 0);

const over = test.macro((t: ExecutionContext, counts: Counts, expected: number) => {
  t.is(excess(counts), expected);
});
test('9 free over WARM_IP_TARGET=5 gives back 4', over, { available: 9, total: 30, warm: 5, minimum: 0 }, 4);
test('MINIMUM_IP_TARGET caps the excess', over, { available: 9, total: 12, warm: 1, minimum: 10 }, 2);
test('never negative when total < minimum', over, { available: 3, total: 3, warm: 0, minimum: 10 }, 0);

const overPrefix = test.macro((t: ExecutionContext, counts: PrefixCounts, expected: number) => {
  t.is(prefixExcess(counts), expected);
});
test(
  'PD: 17 assigned + WARM_IP 1 needs 2 prefixes, a third free one goes',
  overPrefix,
  { assigned: 17, totalPrefixes: 3, freePrefixes: 1, warm: 1, minimum: 1 },
  1,
);
test(
  'PD: MINIMUM_IP_TARGET=20 keeps 2 prefixes',
  overPrefix,
  { assigned: 0, totalPrefixes: 2, freePrefixes: 2, warm: 7, minimum: 20 },
  0,
);

// ---- snapshots -----------------------------------------------------------------------------------------------------

const base = basePolicy;

interface EniSpec {
  readonly device: number;
  /** Per CIDR: 'a' assigned, 'f' free, 'c' cooling (for /32s); for prefixes a count of assigned addresses. */
  readonly ips?: string;
  readonly prefixes?: readonly number[];
  readonly ageMs?: number;
}

function eni({ device, ips = '', prefixes = [], ageMs = 3_600_000 }: EniSpec): EniState {
  const cidrs: CidrState[] = [
    ...[...ips].map((c, i) => ({
      cidr: `10.0.${device}.${i + 10}/32`,
      prefix: false,
      size: 1,
      assigned: c === 'a' ? 1 : 0,
      cooling: c === 'c' ? 1 : 0,
      quarantined: 0,
    })),
    ...prefixes.map((assigned, i) => ({
      cidr: `10.1.${device}.${i * 16}/28`,
      prefix: true,
      size: 16,
      assigned,
      cooling: 0,
      quarantined: 0,
    })),
  ];
  return { id: `eni-${device}`, deviceNumber: device, primary: device === 0, ageMs, cidrs };
}

function snap(enis: EniState[], extra: Partial<PoolSnapshot> = {}): PoolSnapshot {
  return {
    enis,
    pendingPods: 0,
    msSinceLastDecrease: 60_000,
    prefixFallback: false,
    cordoned: false,
    expectedPods: 0,
    ...extra,
  };
}

/** An action without its prose, so rows compare the decision itself. */
type Bare<T> = T extends unknown ? Omit<T, 'reason'> : never;

interface DecideCase {
  readonly policy: Partial<WarmPoolPolicy>;
  readonly snapshot: PoolSnapshot;
  readonly expected: ReadonlyArray<Bare<Action>>;
}

const NOW = 1_000_000;
const decides = test.macro((t: ExecutionContext, { policy, snapshot, expected }: DecideCase) => {
  const actions = decide(initialState, snapshot, NOW, { ...base, ...policy }).map(({ reason, ...rest }) => {
    t.true(reason.length > 0, 'every action says why');
    return rest;
  });
  t.deepEqual(actions, expected);
});

test('WARM_ENI_TARGET=1 fills the primary ENI first', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0 })]),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 3, prefix: false }],
});
test('WARM_ENI_TARGET=1 attaches a whole ENI once the primary is full', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aaf' })]),
  expected: [{ kind: 'attach-eni', count: 3, prefix: false }],
});
test('WARM_ENI_TARGET=1 with a spare ENI of free addresses does nothing', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aaa' }), eni({ device: 1, ips: 'fff' })]),
  expected: [],
});
test('ENI limit reached: nothing to do', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aaa' }), eni({ device: 1, ips: 'aaa' }), eni({ device: 2, ips: 'aaf' })]),
  expected: [],
});
test('t3.small WARM_IP 2 MIN 5 with a full primary attaches an ENI with 2', decides, {
  policy: { warmIpTarget: 2, minimumIpTarget: 5 },
  snapshot: snap([eni({ device: 0, ips: 'fff' })]),
  expected: [{ kind: 'attach-eni', count: 2, prefix: false }],
});
test('max-pods stops growth', decides, {
  policy: { warmIpTarget: 2, maxPods: 3 },
  snapshot: snap([eni({ device: 0, ips: 'aaa' })]),
  expected: [],
});
test('cooling addresses are not available: WARM_IP_TARGET=1 grows (ipamd #2896)', decides, {
  policy: { warmIpTarget: 1, minimumIpTarget: 3 },
  snapshot: snap([eni({ device: 0, ips: 'aac' })], { msSinceLastDecrease: 0 }),
  expected: [{ kind: 'attach-eni', count: 1, prefix: false }],
});
test('WARM_IP_TARGET=1 gives back free addresses above the target, highest device first', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'aff' }), eni({ device: 1, ips: 'ff', ageMs: 1000 })]),
  expected: [
    { kind: 'release-ips', eni: 'eni-1', cidrs: ['10.0.1.11/32', '10.0.1.10/32'] },
    { kind: 'release-ips', eni: 'eni-0', cidrs: ['10.0.0.12/32'] },
  ],
});
test('no decrease before the decrease interval has passed', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'aff' })], { msSinceLastDecrease: 10_000 }),
  expected: [],
});
test('cooling addresses are never given back', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'accf' })]),
  expected: [],
});
test('an old empty ENI beyond the warm targets is freed, not drained address by address', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'aff' }), eni({ device: 1, ips: 'ff' })]),
  expected: [
    { kind: 'release-ips', eni: 'eni-0', cidrs: ['10.0.0.12/32'] },
    { kind: 'free-eni', eni: 'eni-1' },
  ],
});
test('WARM_ENI_TARGET=1 frees an ENI only when two spare ENIs are free', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aff' }), eni({ device: 1, ips: 'fff' }), eni({ device: 2, ips: 'fff' })]),
  expected: [{ kind: 'free-eni', eni: 'eni-2' }],
});
test('PD WARM_PREFIX_TARGET=1 adds one prefix when the last free one is in use', decides, {
  policy: { prefixDelegation: true, warmPrefixTarget: 1 },
  snapshot: snap([eni({ device: 0, prefixes: [5] })]),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 1, prefix: true }],
});
test('PD WARM_PREFIX_TARGET=1 returns a second free prefix', decides, {
  policy: { prefixDelegation: true, warmPrefixTarget: 1 },
  snapshot: snap([eni({ device: 0, prefixes: [16, 0, 0] })]),
  expected: [{ kind: 'release-ips', eni: 'eni-0', cidrs: ['10.1.0.32/28'] }],
});
test('PD WARM_IP 7 MIN 20 on an empty node asks for 2 prefixes', decides, {
  policy: { prefixDelegation: true, warmIpTarget: 7, minimumIpTarget: 20 },
  snapshot: snap([eni({ device: 0 })]),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 2, prefix: true }],
});
test('PD without /28s in the subnet falls back to single addresses', decides, {
  policy: { prefixDelegation: true, warmIpTarget: 5, slotsPerEni: 49 },
  snapshot: snap([eni({ device: 0, prefixes: [16] })], { prefixFallback: true }),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 5, prefix: false }],
});
test('custom networking never grows the primary ENI', decides, {
  policy: { skipPrimaryEni: true, warmIpTarget: 2 },
  snapshot: snap([eni({ device: 0 })]),
  expected: [{ kind: 'attach-eni', count: 2, prefix: false }],
});

// ---- the node's demand: pods expected before their ADD, a cordoned node --------------------------------------------

test('surge WARM_IP_TARGET=2: 2 free and 3 pods expected buys 3 more before their ADDs', decides, {
  policy: { warmIpTarget: 2, mode: 'surge' },
  snapshot: snap([eni({ device: 0, ips: 'ff' })], { expectedPods: 3 }),
  expected: [
    { kind: 'assign-ips', eni: 'eni-0', count: 1, prefix: false },
    { kind: 'attach-eni', count: 2, prefix: false },
  ],
});
test('WARM_ENI_TARGET=1: a pod expected on the spare ENI attaches the next one', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aaa' }), eni({ device: 1, ips: 'fff' })], { expectedPods: 1 }),
  expected: [{ kind: 'attach-eni', count: 3, prefix: false }],
});
test('expected pods keep the addresses they will take from being given back', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'aff' })], { expectedPods: 1 }),
  expected: [],
});
test('cordoned: no growth for the warm targets', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0 })], { cordoned: true }),
  expected: [],
});
test('cordoned: no growth for expected pods', decides, {
  policy: { warmIpTarget: 2 },
  snapshot: snap([eni({ device: 0, ips: 'aaa' })], { cordoned: true, expectedPods: 5 }),
  expected: [],
});
test('cordoned: two ADDs waiting on a full pool buy exactly two addresses, not a whole ENI', decides, {
  policy: {},
  snapshot: snap([eni({ device: 0, ips: 'aaa' })], { cordoned: true, pendingPods: 2 }),
  expected: [{ kind: 'attach-eni', count: 2, prefix: false }],
});
test('cordoned PD: an ADD waiting on full prefixes buys one prefix', decides, {
  policy: { prefixDelegation: true, warmPrefixTarget: 1 },
  snapshot: snap([eni({ device: 0, prefixes: [16] })], { cordoned: true, pendingPods: 1 }),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 1, prefix: true }],
});
test('cordoned: free addresses above the targets still go back', decides, {
  policy: { warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'aff' })], { cordoned: true }),
  expected: [{ kind: 'release-ips', eni: 'eni-0', cidrs: ['10.0.0.12/32'] }],
});
test('reference mode grows one step per cycle even with pods waiting', decides, {
  policy: { maxEnis: 15, slotsPerEni: 49, warmIpTarget: 1 },
  snapshot: snap([eni({ device: 0, ips: 'a'.repeat(49) })], { pendingPods: 120 }),
  expected: [{ kind: 'attach-eni', count: 1, prefix: false }],
});
test('surge mode covers waiting pods in one cycle', decides, {
  policy: { maxEnis: 15, slotsPerEni: 49, warmIpTarget: 1, maxPods: 737, mode: 'surge' },
  snapshot: snap([eni({ device: 0, ips: 'a'.repeat(40) })], { pendingPods: 120 }),
  expected: [
    { kind: 'assign-ips', eni: 'eni-0', count: 9, prefix: false },
    { kind: 'attach-eni', count: 49, prefix: false },
    { kind: 'attach-eni', count: 49, prefix: false },
    { kind: 'attach-eni', count: 14, prefix: false },
  ],
});
test('a pod waiting on an empty pool grows even with WARM_IP_TARGET=0 and MINIMUM reached', decides, {
  policy: { warmIpTarget: 0, minimumIpTarget: 2 },
  snapshot: snap([eni({ device: 0, ips: 'aa' })], { pendingPods: 1 }),
  expected: [{ kind: 'assign-ips', eni: 'eni-0', count: 1, prefix: false }],
});
test('nothing is given back while pods wait', decides, {
  policy: { warmIpTarget: 1, mode: 'surge' },
  snapshot: snap([eni({ device: 0, ips: 'aaa' }), eni({ device: 1, ips: 'f' }), eni({ device: 2, ips: 'ff' })], {
    pendingPods: 1,
  }),
  expected: [],
});

// ---- which ENI may be freed ----------------------------------------------------------------------------------------

const keeps = test.macro(
  (t: ExecutionContext, spec: { policy: Partial<WarmPoolPolicy>; enis: EniState[] }, expected: string | undefined) => {
    const candidate = spec.enis.at(-1)!;
    const why = whyKeepEni(candidate, spec.enis, { ...base, ...spec.policy });
    if (expected === undefined) t.is(why, undefined);
    else t.regex(why ?? '', new RegExp(expected));
  },
);
test('the primary ENI is never freed', keeps, { policy: {}, enis: [eni({ device: 0, ips: 'fff' })] }, 'primary');
test(
  'an ENI younger than a minute stays',
  keeps,
  { policy: {}, enis: [eni({ device: 0 }), eni({ device: 1, ips: 'f', ageMs: 59_000 })] },
  'younger',
);
test(
  'an ENI with a cooling address stays',
  keeps,
  { policy: {}, enis: [eni({ device: 0 }), eni({ device: 1, ips: 'fc' })] },
  'cooldown',
);
test(
  'an ENI with pods stays',
  keeps,
  { policy: {}, enis: [eni({ device: 0 }), eni({ device: 1, ips: 'fa' })] },
  'assigned',
);
test(
  'an ENI whose free addresses the warm target needs stays',
  keeps,
  { policy: { warmIpTarget: 2 }, enis: [eni({ device: 0, ips: 'aaf' }), eni({ device: 1, ips: 'ff' })] },
  'WARM_IP_TARGET',
);
test(
  'an ENI MINIMUM_IP_TARGET needs stays',
  keeps,
  { policy: { minimumIpTarget: 5 }, enis: [eni({ device: 0, ips: 'aff' }), eni({ device: 1, ips: 'ff' })] },
  'MINIMUM_IP_TARGET',
);
test(
  'an empty old ENI beyond the targets may go',
  keeps,
  { policy: { warmIpTarget: 1 }, enis: [eni({ device: 0, ips: 'aff' }), eni({ device: 1, ips: 'ff' })] },
  undefined,
);

test('the highest empty ENI is the one freed', (t) => {
  const enis = [eni({ device: 0, ips: 'fff' }), eni({ device: 1, ips: 'fff' }), eni({ device: 2, ips: 'fff' })];
  t.is(deletableEni(enis, { ...base, warmIpTarget: 1 })?.id, 'eni-2');
});

// ---- limits, max pods, reasons -------------------------------------------------------------------------------------

// t3.small from the bundled table: 3 ENIs of 4 addresses, Nitro.
const t3small = instanceTypeLimits('t3.small')!;
const settings = {
  WARM_ENI_TARGET: 1,
  WARM_IP_TARGET: 0,
  MINIMUM_IP_TARGET: 0,
  WARM_PREFIX_TARGET: 0,
  ENABLE_PREFIX_DELEGATION: false,
  MAX_ENI: -1,
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false,
};
const options = { maxPods: 11, mode: 'reference' as const, minEniLifetimeMs: 60_000, decreaseIntervalMs: 30_000 };

test('max pods follow the reference formula', (t) => {
  t.is(maxPodsFor(t3small, settings), 11);
  t.is(maxPodsFor(t3small, { ...settings, ENABLE_PREFIX_DELEGATION: true }), 146);
  t.is(maxPodsFor(t3small, { ...settings, MAX_ENI: 2, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: true }), 5);
});

test('MAX_ENI caps the instance limit only when set and lower', (t) => {
  t.is(warmPoolPolicy({ ...settings, MAX_ENI: 2 }, t3small, options).policy.maxEnis, 2);
  t.is(warmPoolPolicy({ ...settings, MAX_ENI: 9 }, t3small, options).policy.maxEnis, 3);
  t.is(warmPoolPolicy(settings, t3small, options).policy.maxEnis, 3);
});

test('prefix delegation on a Xen instance is refused with a note, not silently', (t) => {
  const xen = { ...t3small, hypervisorType: 'xen' };
  const { policy, notes } = warmPoolPolicy({ ...settings, ENABLE_PREFIX_DELEGATION: true }, xen, options);
  t.false(policy.prefixDelegation);
  t.regex(notes[0] ?? '', /ENABLE_PREFIX_DELEGATION=true ignored/);
});

test('stats count cooling addresses as unavailable', (t) => {
  t.like(poolStats([eni({ device: 0, ips: 'acff' })]), { total: 4, assigned: 1, cooling: 1, available: 2 });
});

test('isTooLow holds at max-pods even with pods waiting', (t) => {
  const stats = poolStats([eni({ device: 0, ips: 'aaa' })]);
  t.false(isTooLow(stats, 1, { ...base, maxPods: 3 }));
  t.true(isTooLow(stats, 1, base));
});

test('shortage reasons carry their numbers', (t) => {
  const full = snap([eni({ device: 0, ips: 'aaa' }), eni({ device: 1, ips: 'aaa' }), eni({ device: 2, ips: 'aaa' })]);
  const facts = { nextFreeInMs: undefined, cloudFailure: undefined };
  t.is(formatReason(shortageReason(full, base, facts)), 'ENI_LIMIT(3/3 ENIs, 9/9 slots)');
  const cooling = snap([
    eni({ device: 0, ips: 'aac' }),
    eni({ device: 1, ips: 'aaa' }),
    eni({ device: 2, ips: 'aaa' }),
  ]);
  t.is(
    formatReason(shortageReason(cooling, base, { ...facts, nextFreeInMs: 12_000 })),
    'COOLDOWN(1 IPs cooling, next free in 12s)',
  );
  t.is(formatReason(shortageReason(full, { ...base, maxPods: 9 }, facts)), 'MAX_PODS(9 addresses >= max-pods 9)');
  const throttled = { code: 'EC2_THROTTLED', retryInMs: 8000 } as const;
  t.is(
    formatReason(shortageReason(snap([eni({ device: 0 })]), base, { ...facts, cloudFailure: throttled })),
    'EC2_THROTTLED(retry in 8s)',
  );
});
