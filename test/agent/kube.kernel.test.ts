import type { ExecutionContext } from 'ava';
import { KUBERNETES_ACCESS } from '../../src/agent/kube/access.ts';
import { MAX_PODS_ANNOTATION, POD_CAPACITY_ANNOTATION } from '../../src/agent/kube/capacity.ts';
import { kubernetesExtension } from '../../src/agent/kube/extension.ts';
import { POD_IPS_ANNOTATION } from '../../src/agent/kube/node-watch.ts';
import { createLog } from '../../src/agent/log.ts';
import { type KubeObject, RESOURCES, type Simulators } from '../../src/sim/index.ts';
import { CniErrorObject, canBuildCniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns } from '../helpers/netns.ts';
import { addressOf, type Bed, bed, pings } from './support.ts';

// The agent's Kubernetes side end to end: the agent of ./support.ts with the Kubernetes extension, whose kubeconfig
// points at the simulators' API server; the test edits the cluster through the simulator's store, as kubectl would.
const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

const type = (plural: string) => RESOURCES.find((r) => r.plural === plural)!;

/** Polls `probe` until it returns a value (not undefined), for at most `ms`: a bound, not a measurement. */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`still waiting after ${ms} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function kubeBed(t: ExecutionContext, instanceType: string, env: Record<string, string> = {}): Promise<Bed> {
  const logs: string[] = [];
  t.teardown(() => {
    if (!t.passed) t.log(logs.join(''));
  });
  const b = await bed(t, instanceType, env, (sims) => ({
    extensions: [
      kubernetesExtension({
        // The process environment, as the CLI passes it: the test's settings are the agent's start configuration.
        env: { KUBECONFIG: sims.kubeconfigPath },
        log: createLog((line) => logs.push(line), 'text', 'debug'),
      }),
    ],
  }));
  return b;
}

/** Every request the agent made is one the manifests' RBAC grants (each test ends with it). */
function assertWithinAccess(t: ExecutionContext, sims: Simulators): void {
  const outside = sims.audit
    .entries({ service: 'kubernetes' })
    .filter((e) => e.params.verb !== undefined)
    .filter(
      (e) =>
        !KUBERNETES_ACCESS.some(
          (a) =>
            a.group === e.params.group &&
            a.resource === e.params.resource &&
            a.verbs.includes(e.params.verb!) &&
            (a.namespace === undefined || a.namespace === e.params.namespace),
        ),
    )
    .map((e) => `${e.params.verb} ${e.params.group}/${e.params.resource} ns=${e.params.namespace}`);
  t.deepEqual([...new Set(outside)], [], 'requests outside KUBERNETES_ACCESS');
}

function events(sims: Simulators, kind: 'Pod' | 'Node', reason: string): KubeObject[] {
  return sims.kubernetes
    .list(type('events'), undefined)
    .filter(
      (e) => (e.involvedObject as { kind?: string }).kind === kind && (e.reason as string | undefined) === reason,
    );
}

function setConfigMap(sims: Simulators, data: Record<string, string>): void {
  const store = sims.kubernetes;
  const exists = store.list(type('configmaps'), 'kube-system').some((c) => c.metadata.name === 'amazon-vpc-cni');
  const object = { metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' }, data };
  if (exists) store.replace(type('configmaps'), 'kube-system', 'amazon-vpc-cni', object);
  else store.create(type('configmaps'), object);
}

/** Addresses the pool holds and how many of them no pod holds, from the engine's own snapshot. */
function pool(b: Bed): { total: number; free: number } {
  const cidrs = b.agent.node.engine.snapshot().enis.flatMap((e) => e.cidrs);
  const total = cidrs.reduce((sum, c) => sum + c.size, 0);
  return { total, free: total - cidrs.reduce((sum, c) => sum + c.assigned, 0) };
}

function freeAddresses(b: Bed): number {
  return pool(b).free;
}

kernel(
  'the live ConfigMap lowers WARM_IP_TARGET: the pool shrinks, no pod is disturbed; an invalid edit is refused and said',
  async (t) => {
    const b = await kubeBed(t, 't3.medium', { WARM_IP_TARGET: '5' });
    const pods = await Promise.all(Array.from({ length: 2 }, (_, i) => b.pod(t, `cm-${i}`)));
    const ips = await Promise.all(pods.map(async (p) => addressOf(await b.runtime.add(p.attachment))));
    await until('the pool holds 5 free addresses', () => freeAddresses(b) >= 5);

    setConfigMap(b.sims, { WARM_IP_TARGET: '1' });
    const applied = await until('a ConfigApplied Event', () => events(b.sims, 'Node', 'ConfigApplied')[0]);
    t.regex(applied.message as string, /applied WARM_IP_TARGET=1 \(was 5\)/);
    t.is(b.agent.view.config().WARM_IP_TARGET, 1);
    await until('the pool shrinks to 1 free address', () => freeAddresses(b) <= 1);
    const leases = b.agent.node.engine.store.leases().map((l) => l.ip);
    t.deepEqual(leases.toSorted(), ips.toSorted(), 'the pods keep their addresses');
    for (const [i, p] of pods.entries()) t.true(await pings(p.ns, b.sims.node!.vpcPeer), `pod ${ips[i]} still pings`);

    const free = freeAddresses(b);
    setConfigMap(b.sims, { WARM_IP_TARGET: '-3', MINIMUM_IP_TARGET: 'ten' });
    const refused = await until('a ConfigRefused Warning', () => events(b.sims, 'Node', 'ConfigRefused')[0]);
    t.is(refused.type, 'Warning');
    t.regex(refused.message as string, /WARM_IP_TARGET=-3 \(ConfigMap kube-system\/amazon-vpc-cni\): .*allowed: /);
    t.regex(refused.message as string, /MINIMUM_IP_TARGET=ten/, 'every problem, not the first');
    t.is(b.agent.view.config().WARM_IP_TARGET, 1, 'the running configuration stays');
    t.is(freeAddresses(b), free);
    t.deepEqual(
      b.agent.node.engine.store
        .leases()
        .map((l) => l.ip)
        .toSorted(),
      ips.toSorted(),
    );
    assertWithinAccess(t, b.sims);
  },
);

kernel('a cordoned node does not grow its pool for pending pods; uncordoned it does', async (t) => {
  const b = await kubeBed(t, 'm5.xlarge', { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1' });
  const total = () => pool(b).total;
  await until('the warm pool is filled', () => freeAddresses(b) >= 1);
  b.sims.kubernetes.patch(type('nodes'), undefined, b.sims.nodeName, 'application/merge-patch+json', {
    spec: { unschedulable: true },
  });
  for (let i = 0; i < 20; i++)
    b.sims.kubernetes.create(type('pods'), {
      metadata: { name: `pending-${i}`, namespace: 'default' },
      spec: { nodeName: b.sims.nodeName, containers: [{ name: 'c', image: 'x' }] },
      status: { phase: 'Pending' },
    });
  const before = total();
  // Several pool steps see the 20 pending pods on the cordoned node: none of them buys an address.
  const runs = () => b.agent.view.loops().find((l) => l.name === 'warm-pool')?.runs ?? 0;
  const start = runs();
  await until('five pool steps', () => runs() >= start + 5);
  t.is(total(), before, 'no address bought while cordoned');

  b.sims.kubernetes.patch(type('nodes'), undefined, b.sims.nodeName, 'application/merge-patch+json', {
    spec: { unschedulable: null },
  });
  await until('the pool grows for the pending pods once uncordoned', () => total() >= before + 20);
  assertWithinAccess(t, b.sims);
});

kernel("the node's pod capacity is annotated, and a kubelet maxPods beyond it is a Warning on the node", async (t) => {
  const b = await kubeBed(t, 't3.medium');
  const node = () => b.sims.kubernetes.get(type('nodes'), undefined, b.sims.nodeName);
  await until('the capacity annotations', () => node().metadata.annotations?.[POD_CAPACITY_ANNOTATION]);
  t.is(node().metadata.annotations?.[POD_CAPACITY_ANNOTATION], '17');
  t.is(node().metadata.annotations?.[MAX_PODS_ANNOTATION], '17');
  t.deepEqual(events(b.sims, 'Node', 'MaxPodsMismatch'), [], 'the seeded kubelet agrees');

  b.sims.kubernetes.patch(type('nodes'), undefined, b.sims.nodeName, 'application/merge-patch+json', {
    status: { capacity: { pods: '110' }, allocatable: { pods: '110' } },
  });
  const warning = await until('a MaxPodsMismatch Warning', () => events(b.sims, 'Node', 'MaxPodsMismatch')[0]);
  t.regex(warning.message as string, /kubelet maxPods 110 exceeds the 17 pods/);

  assertWithinAccess(t, b.sims);
});

kernel('a burst beyond the node gives each failing pod a Warning Event naming the reason', async (t) => {
  const b = await kubeBed(t, 't3.medium');
  const pods = await Promise.all(Array.from({ length: 18 }, (_, i) => b.pod(t, `burst-${i}`)));
  const replies = await Promise.all(pods.map((p) => b.runtime.add(p.attachment)));
  const failed = pods.filter((_, i) => !replies[i]!.ok).map((p) => p.attachment.podName);
  t.is(failed.length, 3);
  for (const reply of replies)
    if (!reply.ok) t.is(JSON.parse(CniErrorObject.parse(reply.error).details ?? '{}').code, 'ENI_LIMIT');
  const warned = await until('a Warning on each failing pod', () => {
    const names = events(b.sims, 'Pod', 'FailedIPAMEniLimit').map((e) => (e.involvedObject as { name: string }).name);
    return failed.every((name) => names.includes(name)) ? names : undefined;
  });
  t.deepEqual(warned.toSorted(), failed.toSorted(), 'only the failing pods are warned');
  const one = events(b.sims, 'Pod', 'FailedIPAMEniLimit')[0]!;
  t.is(one.type, 'Warning');
  t.regex(
    one.message as string,
    /^ENI_LIMIT\(3\/3 ENIs, 15\/15 slots\): .*use a larger type or ENABLE_PREFIX_DELEGATION/,
  );

  // The kubelet retries: the same failure again is the same Event, counted, not a new one.
  const again = await b.runtime.add(pods[pods.findIndex((_, i) => !replies[i]!.ok)]!.attachment);
  t.false(again.ok);
  await until('the count climbs', () =>
    events(b.sims, 'Pod', 'FailedIPAMEniLimit').some((e) => (e.count as number) >= 2),
  );
  t.is(events(b.sims, 'Pod', 'FailedIPAMEniLimit').length, 3);
  assertWithinAccess(t, b.sims);
});

kernel('ANNOTATE_POD_IP as the reference: the pod-ips annotation set on ADD, cleared on DEL', async (t) => {
  const b = await kubeBed(t, 't3.medium', { ANNOTATE_POD_IP: 'true' });
  const pod = await b.pod(t, 'annotated');
  b.sims.kubernetes.create(type('pods'), {
    metadata: { name: 'annotated', namespace: 'default' },
    spec: { nodeName: b.sims.nodeName, containers: [{ name: 'c', image: 'x' }] },
    status: { phase: 'Pending' },
  });
  const ip = addressOf(await b.runtime.add(pod.attachment));
  const annotation = () =>
    b.sims.kubernetes.get(type('pods'), 'default', 'annotated').metadata.annotations?.[POD_IPS_ANNOTATION];
  await until('the pod-ips annotation', () => annotation());
  t.is(annotation(), ip);
  t.true((await b.runtime.del(pod.attachment)).ok);
  await until('the annotation cleared on DEL', () => annotation() === '');
  assertWithinAccess(t, b.sims);
});
