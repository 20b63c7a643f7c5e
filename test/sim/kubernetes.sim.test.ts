import { existsSync } from 'node:fs';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  Watch,
} from '@kubernetes/client-node';
import test from 'ava';
import { execa } from 'execa';
import { startSimulators } from '../../src/sim/index.ts';
import { testNeeding } from '../helpers/needs.ts';

const ENICONFIGS = { group: 'crd.k8s.amazonaws.com', version: 'v1alpha1', plural: 'eniconfigs' };

function clientConfig(path: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(path);
  return config;
}

function until<T>(register: (resolve: (value: T) => void) => void): Promise<T> {
  return new Promise((resolve) => register(resolve));
}

test('a client-node informer lists and watches nodes: label and taint patches arrive as updates', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const config = clientConfig(sims.kubeconfigPath);
  const core = config.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Node>(config, '/api/v1/nodes', () => core.listNode());
  t.teardown(() => informer.stop());
  const added = until<V1Node>((resolve) => informer.on('add', resolve));
  await informer.start();
  t.is((await added).metadata!.name, sims.nodeName);
  t.is((await added).spec!.providerID, `aws:///${sims.instance.zone}/${sims.instance.id}`);

  const updated = until<V1Node>((resolve) => informer.on('update', (node) => node.spec?.taints && resolve(node)));
  await core.patchNode({
    name: sims.nodeName,
    body: [{ op: 'add', path: '/metadata/labels/vpc.amazonaws.com~1eniConfig', value: 'us-west-2a' }],
  });
  await core.patchNode(
    { name: sims.nodeName, body: { spec: { taints: [{ key: 'ip-exhausted', effect: 'NoSchedule' }] } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  const node = await updated;
  t.is(node.metadata!.labels!['vpc.amazonaws.com/eniConfig'], 'us-west-2a');
  t.deepEqual(node.spec!.taints, [{ key: 'ip-exhausted', effect: 'NoSchedule' }]);
});

test('an ENIConfig informer sees the seeded configs and a new one, and survives a dropped watch', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const config = clientConfig(sims.kubeconfigPath);
  const custom = config.makeApiClient(CustomObjectsApi);
  const path = `/apis/${ENICONFIGS.group}/${ENICONFIGS.version}/${ENICONFIGS.plural}`;
  const informer = makeInformer<KubernetesObject>(
    config,
    path,
    () => custom.listClusterCustomObject(ENICONFIGS) as never,
  );
  t.teardown(() => informer.stop());
  const seen = new Set<string>();
  let last = '';
  informer.on('add', (object) => {
    seen.add(object.metadata!.name!);
    last = object.metadata!.name!;
  });
  await informer.start();
  await until<void>((resolve) => {
    const poll = setInterval(() => {
      if (seen.size < 2) return;
      clearInterval(poll);
      resolve();
    }, 10);
  });
  t.deepEqual([...seen].sort(), ['us-west-2a', 'us-west-2b']);

  sims.faults.dropWatches('eniconfigs');
  const subnetId = [...sims.model.subnets.keys()][1]!;
  await custom.createClusterCustomObject({
    ...ENICONFIGS,
    body: {
      apiVersion: `${ENICONFIGS.group}/${ENICONFIGS.version}`,
      kind: 'ENIConfig',
      metadata: { name: 'extra' },
      spec: { subnet: subnetId },
    },
  });
  await until<void>((resolve) => {
    const poll = setInterval(() => {
      if (last !== 'extra') return;
      clearInterval(poll);
      resolve();
    }, 10);
  });
  t.true(seen.has('extra'), 'the informer re-established its watch and caught up');

  const failed = until<Error>((resolve) => informer.on('error', resolve));
  sims.faults.dropWatches('eniconfigs', 'reset');
  t.truthy(await failed, 'a reset connection reaches the informer as an error');
});

test('a watch resumes from a resourceVersion, gets bookmarks, and lists pods by spec.nodeName', async (t) => {
  const sims = await startSimulators({ profileOverrides: { bookmarkIntervalMs: 50 } });
  t.teardown(() => sims.close());
  const pods = sims.kubernetes;
  const podType = (await import('../../src/sim/index.ts')).RESOURCES.find((r) => r.plural === 'pods')!;
  const mark = String(pods.revision);
  pods.create(podType, { metadata: { name: 'a', namespace: 'default' }, spec: { nodeName: sims.nodeName } });
  pods.create(podType, { metadata: { name: 'b', namespace: 'default' }, spec: { nodeName: 'other-node' } });
  const config = clientConfig(sims.kubeconfigPath);
  const events: string[] = [];
  const watch = new Watch(config);
  const done = until<void>((resolve) => {
    void watch
      .watch(
        '/api/v1/pods',
        { resourceVersion: mark, allowWatchBookmarks: true, fieldSelector: `spec.nodeName=${sims.nodeName}` },
        (type, object) => {
          events.push(`${type} ${type === 'BOOKMARK' ? '' : object.metadata.name}`.trim());
          if (type === 'BOOKMARK') resolve();
        },
        () => undefined,
      )
      .then((request) => t.teardown(() => request.abort()));
  });
  await done;
  t.deepEqual(events, ['ADDED a', 'BOOKMARK']);
  const core = config.makeApiClient(CoreV1Api);
  const listed = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${sims.nodeName}` });
  t.deepEqual(
    listed.items.map((pod) => pod.metadata!.name),
    ['a'],
  );
  await core.createNamespacedEvent({
    namespace: 'default',
    body: { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'a' }, reason: 'Assigned', message: 'ok' },
  });
  t.is(sims.audit.count({ service: 'kubernetes', action: 'POST /api/v1/namespaces/default/events' }), 1);
});

const kubectl = '/usr/bin/kubectl';
const hasKubectl = existsSync(kubectl);
testNeeding(hasKubectl, 'no kubectl on this machine')('kubectl get nodes works against the API', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const { stdout } = await execa(kubectl, ['--kubeconfig', sims.kubeconfigPath, 'get', 'nodes']);
  const [header, row] = stdout.split('\n');
  t.regex(header!, /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION$/);
  t.regex(row!, new RegExp(`^${sims.nodeName.replaceAll('.', '\\.')}\\s+Ready\\s`));
  const taint = await execa(kubectl, [
    '--kubeconfig',
    sims.kubeconfigPath,
    'taint',
    'node',
    sims.nodeName,
    'ip-exhausted=true:NoSchedule',
  ]);
  t.regex(taint.stdout, /tainted/);
  const eniConfigs = await execa(kubectl, ['--kubeconfig', sims.kubeconfigPath, 'get', 'eniconfigs', '-o', 'name']);
  t.deepEqual(eniConfigs.stdout.split('\n'), [
    'eniconfig.crd.k8s.amazonaws.com/us-west-2a',
    'eniconfig.crd.k8s.amazonaws.com/us-west-2b',
  ]);
});

test('an oversized request body is a 413 Status, as the API server answers it', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const response = await fetch(`${sims.kubernetesUrl}/api/v1/namespaces/default/pods`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ metadata: { name: 'big', annotations: { a: 'x'.repeat(2 << 20) } } }),
  });
  t.is(response.status, 413);
  t.like(await response.json(), { kind: 'Status', reason: 'RequestEntityTooLarge', code: 413 });
});

test('each resource request is recorded as RBAC names it: verb, group, resource, namespace', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const config = clientConfig(sims.kubeconfigPath);
  const core = config.makeApiClient(CoreV1Api);
  const custom = config.makeApiClient(CustomObjectsApi);
  const mark = sims.audit.mark();
  await core.readNode({ name: sims.nodeName });
  await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${sims.nodeName}` });
  await custom.listClusterCustomObject(ENICONFIGS);
  await core.createNamespacedEvent({
    namespace: 'default',
    body: {
      metadata: { name: 'e1' },
      involvedObject: { kind: 'Pod', name: 'a', namespace: 'default' },
      reason: 'FailedIPAM',
      type: 'Warning',
      message: 'x',
    },
  });
  await core.patchNamespacedEvent(
    { name: 'e1', namespace: 'default', body: { count: 2 } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await fetch(`${sims.kubernetesUrl}/api/v1/nodes/${sims.nodeName}/status`);
  await fetch(`${sims.kubernetesUrl}/api/v1/namespaces/kube-system/configmaps?watch=true&timeoutSeconds=0`);
  await fetch(`${sims.kubernetesUrl}/version`);
  const seen = sims.audit
    .entries({ service: 'kubernetes', since: mark })
    .map((e) => (e.params.verb === undefined ? e.action : Object.values(e.params).join(' ')));
  t.deepEqual(seen, [
    'get  nodes ',
    'list  pods ',
    'list crd.k8s.amazonaws.com eniconfigs ',
    'create  events default',
    'patch  events default',
    'get  nodes/status ',
    'watch  configmaps kube-system',
    'GET /version',
  ]);
  const warnings = await core.listNamespacedEvent({
    namespace: 'default',
    fieldSelector: 'involvedObject.kind=Pod,reason=FailedIPAM,type=Warning',
  });
  t.deepEqual(
    warnings.items.map((e) => [e.metadata!.name, e.count]),
    [['e1', 2]],
  );
});
