import test from 'ava';
import { driftChanges, restoredLine } from '../../src/agent/drift.ts';
import type { Change } from '../../src/apply/diff.ts';
import type { HostPlan, IptablesRule, Route, Sysctl } from '../../src/compiler/plan.ts';
import { handPlan } from '../apply/fixtures.ts';

// Which changes of a sync are drift being undone, and how each is said. The kernel test proves it against a real
// node; these pin the rule on every kind of change.

const plan = handPlan();
const podRoute = plan.routes.find((r) => r.dst === '10.0.1.20/32')!;
const rpFilter = plan.sysctls.find((s) => s.path.endsWith('rp_filter'))!;
const snatRule = plan.iptablesRules.find((r) => r.chain === 'AWS-SNAT-CHAIN-0')!;

const add = (object: Change['object']): Change => ({ kind: 'add', object, reason: 'missing' });

test('the first sync converges the node; nothing it does is called a repair', (t) => {
  t.deepEqual(driftChanges({ plan, previousPlan: undefined, applied: [add(podRoute)] }), []);
});

test('objects the sync before had put in place, and put back now, are drift', (t) => {
  const rp: Change = { kind: 'replace', object: rpFilter, previous: { ...rpFilter, value: '1' }, reason: '1 → 2' };
  const applied = [add(podRoute), rp, add(snatRule)];
  t.deepEqual(driftChanges({ plan, previousPlan: plan, applied }), applied);
  t.deepEqual(applied.map(restoredLine), [
    'route 10.0.1.20/32 dev enia scope link table main restored (missing)',
    'sysctl net/ipv4/conf/eth0/rp_filter = 2 restored (1 → 2)',
    'iptables -t nat -A AWS-SNAT-CHAIN-0 -d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN restored (missing)',
  ]);
});

test('the plan growing or changing is not drift: a new pod, a new ENI table, a changed value', (t) => {
  const newPod: Route = { ...podRoute, dst: '10.0.1.99/32', dev: 'enic' };
  const newTable: Route = { ...podRoute, table: 3, dst: '0.0.0.0/0', dev: 'eth2', scope: 'global', via: '10.0.3.1' };
  const loose: Sysctl = { ...rpFilter, value: '1' };
  const reordered: IptablesRule = { ...snatRule, args: [...snatRule.args.slice(0, -1), 'MASQUERADE'] };
  const applied: Change[] = [
    add(newPod),
    add(newTable),
    { kind: 'replace', object: loose, previous: rpFilter, reason: '2 → 1' },
    add(reordered),
  ];
  t.deepEqual(driftChanges({ plan, previousPlan: plan, applied }), []);
});

test('a delete is drift when the plan before did not want the object, not when a pod left the plan', (t) => {
  const planted: Change = {
    kind: 'delete',
    object: { kind: 'rule', family: 'inet', priority: 512, table: 7, to: '10.0.9.9/32', because: 'live' },
    reason: 'owned (priority 512) but not desired',
  };
  const podLeft: Change = { kind: 'delete', object: podRoute, reason: 'owned (pod route on enia) but not desired' };
  const kernelSubnetRoute: Change = {
    kind: 'delete',
    object: { kind: 'route', family: 'inet', table: 254, dst: '10.0.2.0/24', dev: 'eth1', scope: 'link', because: '' },
    reason: 'must not exist (fact:test)',
  };
  const repaired = driftChanges({ plan, previousPlan: plan, applied: [planted, podLeft, kernelSubnetRoute] });
  t.deepEqual(repaired, [planted, kernelSubnetRoute]);
  t.is(
    restoredLine(planted),
    'rule 512: from all to 10.0.9.9/32 lookup 7 removed (owned (priority 512) but not desired)',
  );
});

test('an object is compared whole: the same route with another gateway in the plan before is not drift', (t) => {
  const previousPlan: HostPlan = {
    ...plan,
    routes: plan.routes.map((r) => (r.dst === '0.0.0.0/0' ? { ...r, via: '10.0.2.254' } : r)),
  };
  const gateway = plan.routes.find((r) => r.dst === '0.0.0.0/0')!;
  t.deepEqual(driftChanges({ plan, previousPlan, applied: [add(gateway), add(podRoute)] }), [add(podRoute)]);
});

test("a new ENI's subnet route, deleted as its address is added, is the plan growing; the same later is drift", (t) => {
  const secondary = plan.addresses[0]!;
  const subnetRoute: Change = {
    kind: 'delete',
    object: plan.absentRoutes[0]!,
    reason: `the kernel adds it with address ${secondary.cidr} (fact:test)`,
  };
  const before: HostPlan = { ...plan, addresses: [], absentRoutes: [] };
  t.deepEqual(driftChanges({ plan, previousPlan: before, applied: [add(secondary), subnetRoute] }), []);
  t.deepEqual(driftChanges({ plan, previousPlan: plan, applied: [add(secondary), subnetRoute] }), [
    add(secondary),
    subnetRoute,
  ]);
});
