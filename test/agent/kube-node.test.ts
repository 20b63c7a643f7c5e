import type { V1Node, V1Pod } from '@kubernetes/client-node';
import test from 'ava';
import {
  capacityFinding,
  capacityPatch,
  MAX_PODS_ANNOTATION,
  POD_CAPACITY_ANNOTATION,
} from '../../src/agent/kube/capacity.ts';
import { appliedMessage, changedKeys, refusedMessage } from '../../src/agent/kube/configmap.ts';
import { nodeDemand, pendingPods, podKey } from '../../src/agent/kube/demand.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';

const pod = (name: string, extra: { spec?: V1Pod['spec']; status?: V1Pod['status']; deleting?: boolean } = {}) =>
  ({
    metadata: {
      name,
      namespace: 'default',
      ...(extra.deleting ? { deletionTimestamp: new Date(0) } : {}),
    },
    spec: { nodeName: 'n1', containers: [], ...extra.spec },
    status: { phase: 'Pending', ...extra.status },
  }) as V1Pod;

test('pending pods are those bound here that will need an address and have none yet', (t) => {
  const pods = [
    pod('waiting'),
    pod('no-status', { status: {} }),
    pod('host', { spec: { containers: [], hostNetwork: true } }),
    pod('running', { status: { phase: 'Running', podIP: '10.0.1.5' } }),
    pod('ip-reported', { status: { phase: 'Pending', podIP: '10.0.1.6' } }),
    pod('served', {}),
    pod('leaving', { deleting: true }),
    pod('done', { status: { phase: 'Succeeded' } }),
  ];
  t.is(pendingPods(pods, new Set([podKey('default', 'served')])), 2);
});

test('a node with spec.unschedulable is cordoned; no node yet is not', (t) => {
  const cordoned = { metadata: { name: 'n1' }, spec: { unschedulable: true } } as V1Node;
  t.deepEqual(nodeDemand(cordoned, [pod('a')], new Set()), { cordoned: true, pendingPods: 1 });
  t.deepEqual(nodeDemand(undefined, [], new Set()), { cordoned: false, pendingPods: 0 });
});

const node = (pods: string | undefined, annotations: Record<string, string> = {}) =>
  ({ metadata: { name: 'n1', annotations }, status: pods === undefined ? {} : { capacity: { pods } } }) as V1Node;
const t3medium = { maxPods: 17, capacity: 17, cap: undefined };

test("the kubelet's maxPods agreeing with the node's is no finding", (t) => {
  t.deepEqual(capacityFinding(t3medium, node('17')), { capacity: 17, maxPods: 17, kubeletMaxPods: 17 });
  t.is(capacityFinding(t3medium, node(undefined)).mismatch, undefined, 'not reported yet: nothing to compare');
  // Between the capped max-pods and the capacity is the operator's choice.
  t.is(capacityFinding({ maxPods: 110, capacity: 250, cap: 110 }, node('200')).mismatch, undefined);
});

test('a kubelet admitting more pods than there are addresses, or fewer than it could, is a finding with its fix', (t) => {
  t.is(
    capacityFinding(t3medium, node('110')).mismatch,
    "kubelet maxPods 110 exceeds the 17 pods this node's addresses can serve: pods beyond 17 stay in ContainerCreating; set the kubelet's --max-pods to 17 (vpc-cni max-pods)",
  );
  t.regex(capacityFinding(t3medium, node('8')).mismatch ?? '', /below this node's max-pods 17 .*9 pods' worth/);
});

test('the capacity annotations are patched only when the node does not already carry them', (t) => {
  const finding = capacityFinding(t3medium, node('17'));
  t.deepEqual(capacityPatch(finding, node('17')), {
    metadata: { annotations: { [POD_CAPACITY_ANNOTATION]: '17', [MAX_PODS_ANNOTATION]: '17' } },
  });
  t.is(capacityPatch(finding, node('17', { [POD_CAPACITY_ANNOTATION]: '17', [MAX_PODS_ANNOTATION]: '17' })), undefined);
});

test('a ConfigMap change is described by the keys whose value changed, applied and pending apart', (t) => {
  const before = testConfig({ WARM_IP_TARGET: '5' });
  const after = testConfig({ WARM_IP_TARGET: '1', MAX_ENI: '2' });
  t.deepEqual(changedKeys(before, after), ['MAX_ENI', 'WARM_IP_TARGET']);
  t.deepEqual(changedKeys(before, before), []);
  t.is(
    appliedMessage(['WARM_IP_TARGET'], ['MAX_ENI'], before, after),
    'ConfigMap kube-system/amazon-vpc-cni: applied WARM_IP_TARGET=1 (was 5); waits for a node recycle: MAX_ENI=2 (was -1)',
  );
  t.regex(refusedMessage(['error: WARM_IP_TARGET=-3 (ConfigMap kube-system/amazon-vpc-cni): x'.repeat(40)]), /…$/);
  t.true(refusedMessage(['x'.repeat(5000)]).length <= 1000);
});
