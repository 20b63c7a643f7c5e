import test, { type ExecutionContext } from 'ava';
import { type LiveVia, splitChange } from '../../src/agent/live-config.ts';
import { type EffectiveValue, testConfig } from '../../src/compiler/settings/index.ts';

interface Row {
  /** The running configuration, as env overrides of the defaults. */
  readonly running: Readonly<Record<string, string>>;
  /** What the new ConfigMap asks for. */
  readonly requested: Readonly<Record<string, string>>;
  readonly applied: readonly string[];
  readonly pendingRecycle: readonly string[];
  readonly via: readonly LiveVia[];
}

const splits = test.macro((t: ExecutionContext, row: Row) => {
  const running = testConfig(row.running);
  const requested = testConfig(row.requested);
  const change = splitChange(running, {}, requested, {});
  t.deepEqual(change.applied, row.applied);
  t.deepEqual(change.pendingRecycle, row.pendingRecycle);
  t.deepEqual([...change.via].toSorted(), row.via);
  // The configuration in effect takes exactly the applied keys; a recycle key keeps its running value.
  const get = (key: string, c: object) => (c as Record<string, unknown>)[key];
  for (const key of row.applied) t.deepEqual(get(key, change.next), get(key, requested), key);
  for (const key of row.pendingRecycle) t.deepEqual(get(key, change.next), get(key, running), key);
});

test('a lower WARM_IP_TARGET is live, through the pool', splits, {
  running: { WARM_IP_TARGET: '5' },
  requested: { WARM_IP_TARGET: '1' },
  applied: ['WARM_IP_TARGET'],
  pendingRecycle: [],
  via: ['pool'],
});
test('every warm target and the cooldown at once', splits, {
  running: {},
  requested: { WARM_ENI_TARGET: '2', MINIMUM_IP_TARGET: '4', WARM_PREFIX_TARGET: '1', IP_COOLDOWN_PERIOD: '5' },
  applied: ['IP_COOLDOWN_PERIOD', 'MINIMUM_IP_TARGET', 'WARM_ENI_TARGET', 'WARM_PREFIX_TARGET'],
  pendingRecycle: [],
  via: ['pool'],
});
test('SNAT exclusions, external and random SNAT are live, through the host plan', splits, {
  running: {},
  requested: {
    AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16',
    AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true',
    AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none',
  },
  applied: ['AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', 'AWS_VPC_K8S_CNI_EXTERNALSNAT', 'AWS_VPC_K8S_CNI_RANDOMIZESNAT'],
  pendingRecycle: [],
  via: ['host'],
});
test('connmark and early demux go through the host plan; the log level is read where used', splits, {
  running: {},
  requested: { AWS_VPC_K8S_CNI_CONNMARK: '0x100', DISABLE_TCP_EARLY_DEMUX: 'true', AWS_VPC_K8S_CNI_LOGLEVEL: 'error' },
  applied: ['AWS_VPC_K8S_CNI_CONNMARK', 'AWS_VPC_K8S_CNI_LOGLEVEL', 'DISABLE_TCP_EARLY_DEMUX'],
  pendingRecycle: [],
  via: ['host', 'read'],
});
test('prefix delegation, custom networking and the veth prefix wait for a recycle', splits, {
  running: {},
  requested: {
    ENABLE_PREFIX_DELEGATION: 'true',
    WARM_PREFIX_TARGET: '1',
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
    AWS_VPC_K8S_CNI_VETHPREFIX: 'veth',
  },
  applied: ['WARM_PREFIX_TARGET'],
  pendingRecycle: ['AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'AWS_VPC_K8S_CNI_VETHPREFIX', 'ENABLE_PREFIX_DELEGATION'],
  via: ['pool'],
});
test('MTUs and MAX_ENI wait for a recycle', splits, {
  running: {},
  requested: { AWS_VPC_ENI_MTU: '1500', POD_MTU: '1500', MAX_ENI: '2' },
  applied: [],
  pendingRecycle: ['AWS_VPC_ENI_MTU', 'MAX_ENI', 'POD_MTU'],
  via: [],
});
test('a recycle key set back to its running value is no longer pending', splits, {
  running: { AWS_VPC_K8S_CNI_VETHPREFIX: 'veth' },
  requested: { AWS_VPC_K8S_CNI_VETHPREFIX: 'veth', WARM_IP_TARGET: '3' },
  applied: ['WARM_IP_TARGET'],
  pendingRecycle: [],
  via: ['pool'],
});
test('nothing changed: nothing applied, nothing pending', splits, {
  running: { WARM_IP_TARGET: '3', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16' },
  requested: { WARM_IP_TARGET: '3', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16' },
  applied: [],
  pendingRecycle: [],
  via: [],
});

test('the provenance of an applied key follows the request; a pending key keeps the running one', (t) => {
  const running = testConfig({});
  const requested = testConfig({ WARM_IP_TARGET: '3', MAX_ENI: '2' });
  const was: Record<string, EffectiveValue> = {
    WARM_IP_TARGET: { value: 0, source: { kind: 'default' } },
    MAX_ENI: { value: -1, source: { kind: 'default' } },
  };
  const now: Record<string, EffectiveValue> = {
    WARM_IP_TARGET: { value: 3, source: { kind: 'configmap', file: 'kube-system/amazon-vpc-cni' } },
    MAX_ENI: { value: 2, source: { kind: 'configmap', file: 'kube-system/amazon-vpc-cni' } },
  };
  const change = splitChange(running, was, requested, now);
  t.is(change.values.WARM_IP_TARGET, now.WARM_IP_TARGET);
  t.is(change.values.MAX_ENI, was.MAX_ENI);
});
