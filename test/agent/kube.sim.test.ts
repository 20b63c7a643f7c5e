import test from 'ava';
import { AgentBus } from '../../src/agent/bus.ts';
import { kubernetesExtension } from '../../src/agent/kube/extension.ts';
import { createLog, type Log } from '../../src/agent/log.ts';
import type { AgentView, NodeDemand } from '../../src/agent/view.ts';
import { type Config, type EffectiveValue, testConfig } from '../../src/compiler/settings/index.ts';
import { type KubeObject, RESOURCES, startSimulators } from '../../src/sim/index.ts';

// The Kubernetes side against the simulated API server, without root: the agent's core is a stand-in view that
// records what it is asked (demand, reconfigure), so these tests see the watches, the ConfigMap and the Events alone.
const type = (plural: string) => RESOURCES.find((r) => r.plural === plural)!;

async function until<T>(what: string, probe: () => T | undefined | false, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const quiet: Log = createLog(() => undefined, 'text', 'error');

async function setUp(t: import('ava').ExecutionContext, env: Record<string, string> = {}) {
  const sims = await startSimulators({ instanceType: 't3.medium' });
  t.teardown(() => sims.close());
  let config: Config = testConfig(env);
  let values: Record<string, EffectiveValue> = {};
  const demands: NodeDemand[] = [];
  const reconfigured: Config[] = [];
  const bus = new AgentBus();
  const view = {
    nodeName: sims.nodeName,
    instanceId: sims.instance.id,
    instanceType: 't3.medium',
    startedAtMs: Date.now(),
    bus,
    config: () => config,
    values: () => values,
    engine: { store: { leases: () => [] } },
    setDemand: (d: NodeDemand) => demands.push(d),
    reconfigure: async (next: Config, nextValues: Record<string, EffectiveValue>) => {
      reconfigured.push(next);
      config = next;
      values = nextValues;
      return { applied: ['WARM_IP_TARGET'], pendingRecycle: [] };
    },
  } as unknown as AgentView;
  const handle = await kubernetesExtension({ env: { KUBECONFIG: sims.kubeconfigPath, ...env }, log: quiet }).start(
    view,
  );
  t.teardown(() => handle.stop());
  const events = (reason: string) =>
    sims.kubernetes.list(type('events'), undefined).filter((e: KubeObject) => e.reason === reason);
  return { sims, view, demands, reconfigured, bus, events, config: () => config };
}

test('pending pods bound to the node and a cordon reach setDemand', async (t) => {
  const { sims, demands } = await setUp(t);
  const pod = (name: string, nodeName: string) =>
    sims.kubernetes.create(type('pods'), {
      metadata: { name, namespace: 'default' },
      spec: { nodeName, containers: [] },
      status: { phase: 'Pending' },
    });
  pod('a', sims.nodeName);
  pod('b', sims.nodeName);
  pod('elsewhere', 'other-node');
  await until('two pending pods', () => demands.at(-1)?.pendingPods === 2);
  sims.kubernetes.patch(type('nodes'), undefined, sims.nodeName, 'application/merge-patch+json', {
    spec: { unschedulable: true },
  });
  await until('cordoned', () => demands.at(-1)?.cordoned);
  t.deepEqual(demands.at(-1), { cordoned: true, pendingPods: 2 });
});

test('a ConfigMap edit is validated: invalid refused with a Warning, valid reconfigured with an Event', async (t) => {
  const { sims, reconfigured, events, bus } = await setUp(t);
  const refusedOnBus: string[][] = [];
  bus.subscribe((e) => e.kind === 'config-refused' && refusedOnBus.push([...e.problems]));
  sims.kubernetes.create(type('configmaps'), {
    metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' },
    data: { WARM_IP_TARGET: '-3' },
  });
  const refused = await until('ConfigRefused', () => events('ConfigRefused')[0]);
  t.is(refused.type, 'Warning');
  t.is((refused.involvedObject as { kind: string }).kind, 'Node');
  t.regex(refused.message as string, /WARM_IP_TARGET=-3 \(ConfigMap kube-system\/amazon-vpc-cni\)/);
  t.is(reconfigured.length, 0);
  t.is(refusedOnBus.length, 1);

  sims.kubernetes.replace(type('configmaps'), 'kube-system', 'amazon-vpc-cni', {
    metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' },
    data: { WARM_IP_TARGET: '2' },
  });
  const applied = await until('ConfigApplied', () => events('ConfigApplied')[0]);
  t.is(reconfigured.at(-1)?.WARM_IP_TARGET, 2);
  t.regex(applied.message as string, /applied WARM_IP_TARGET=2/);
});

test('an ADD storm on one pod is one Warning Event whose count climbs; a drift repair is an Event on the node', async (t) => {
  const { sims, bus, events } = await setUp(t);
  const shortage = { code: 'ENI_LIMIT', enis: 3, maxEnis: 3, slotsUsed: 15, slots: 15 } as const;
  for (let i = 0; i < 30; i++)
    bus.publish({ kind: 'add', pod: { namespace: 'default', name: 'stormy' }, ms: 1, ok: false, shortage });
  await until('count 25', () => events('FailedIPAMEniLimit')[0]?.count === 25);
  t.is(events('FailedIPAMEniLimit').length, 1);
  const posts = sims.audit.entries({ service: 'kubernetes' }).filter((e) => e.params.resource === 'events');
  t.is(posts.length, 25, 'the spam filter stopped the rest (25 burst)');

  bus.publish({ kind: 'drift-repaired', restored: ['route 10.0.1.7 dev eni1 restored'], detectionToRepairMs: 5 });
  const repaired = await until('HostNetworkRepaired', () => events('HostNetworkRepaired')[0]);
  t.regex(repaired.message as string, /route 10\.0\.1\.7/);
});

test('a watch cut by a reset connection resumes: changes made meanwhile arrive, the agent never sees an error', async (t) => {
  const { sims, demands } = await setUp(t);
  const pending = (name: string) =>
    sims.kubernetes.create(type('pods'), {
      metadata: { name, namespace: 'default' },
      spec: { nodeName: sims.nodeName, containers: [] },
      status: { phase: 'Pending' },
    });
  pending('first');
  await until('the first pending pod', () => demands.at(-1)?.pendingPods === 1);
  // The reset ends the open watch before the pod exists: only a watch established again can deliver it.
  sims.faults.dropWatches('pods', 'reset');
  pending('during');
  await until('the pod created across the reset', () => demands.at(-1)?.pendingPods === 2);
  t.deepEqual(demands.at(-1), { cordoned: false, pendingPods: 2 });
});

test('custom networking: the node switching ENIConfig, or its ENIConfig changing, is an Event saying what waits for a recycle', async (t) => {
  const { sims, events } = await setUp(t, {
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
    ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone',
  });
  // Seeded: an ENIConfig per zone, named after it, and the node labelled with its zone.
  await until('the node and ENIConfigs listed', () =>
    sims.audit.entries({ service: 'kubernetes' }).some((e) => e.params.resource === 'eniconfigs'),
  );
  sims.kubernetes.patch(type('nodes'), undefined, sims.nodeName, 'application/merge-patch+json', {
    metadata: { annotations: { 'k8s.amazonaws.com/eniConfig': 'us-west-2b' } },
  });
  const switched = await until('ENIConfigChanged', () => events('ENIConfigChanged')[0]);
  t.regex(switched.message as string, /^the node's ENIConfig is now "us-west-2b" \(was "us-west-2a"\): .*recycled$/);

  const subnet = [...sims.model.subnets.keys()][0]!;
  sims.kubernetes.patch(type('eniconfigs'), undefined, 'us-west-2b', 'application/merge-patch+json', {
    spec: { subnet },
  });
  await until('a second ENIConfigChanged', () => events('ENIConfigChanged').length === 2);
  t.regex(events('ENIConfigChanged')[1]!.message as string, new RegExp(`ENIConfig "us-west-2b" changed .*${subnet}`));
});
