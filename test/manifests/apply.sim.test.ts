import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseDocument } from 'yaml';
import { RESOURCES, startSimulators } from '../../src/sim/index.ts';
import { testNeeding } from '../helpers/needs.ts';
import { type KubeObject, manifestDocuments, manifestsDir } from './support.ts';

const kubectl = '/usr/bin/kubectl';
const test = testNeeding(existsSync(kubectl), 'no kubectl on this machine');

// --validate=false: kubectl validates against the server's OpenAPI document (/openapi/v2, or field validation
// announced in /openapi/v3), which the simulator does not serve. The Kubernetes schemas are checked instead by
// schema.test.ts (kubernetes-models); what this test adds is that the API server's side of an apply works.
const apply = (kubeconfig: string, dir: string) =>
  execa(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--validate=false', '-f', dir]);

function stored(sims: Awaited<ReturnType<typeof startSimulators>>, object: KubeObject): KubeObject {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const type = RESOURCES.find((r) => r.group === group && r.version === version && r.kind === object.kind);
  if (type === undefined) throw new Error(`the simulator serves no ${object.apiVersion} ${object.kind}`);
  return sims.kubernetes.get(type, object.metadata.namespace, object.metadata.name) as KubeObject;
}

/** The object as stored, without what the server and kubectl add (uid, resourceVersion, last-applied annotation). */
function asApplied(object: KubeObject): unknown {
  const { uid, resourceVersion, creationTimestamp, annotations, namespace, ...metadata } = object.metadata as Record<
    string,
    unknown
  >;
  const { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, ...others } = (annotations ?? {}) as Record<
    string,
    unknown
  >;
  // kubectl's own record of what it applied: present on every object it created or patched.
  if (typeof lastApplied !== 'string')
    throw new Error(`${object.kind} ${object.metadata.name} has no last-applied annotation`);
  return {
    ...object,
    metadata: {
      ...metadata,
      ...(namespace === undefined ? {} : { namespace }),
      ...(Object.keys(others).length > 0 ? { annotations: others } : {}),
    },
  };
}

test('kubectl apply -f manifests/ creates every object as written; applying again changes nothing', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const documents = await manifestDocuments();
  const first = await apply(sims.kubeconfigPath, manifestsDir.pathname);
  t.is(first.stdout.split('\n').length, documents.length, first.stdout);
  t.true(
    first.stdout.split('\n').every((line) => line.endsWith(' created')),
    first.stdout,
  );
  for (const { object } of documents) {
    t.deepEqual(asApplied(stored(sims, object)), object, object.kind);
  }
  const again = await apply(sims.kubeconfigPath, manifestsDir.pathname);
  t.true(
    again.stdout.split('\n').every((line) => line.endsWith(' unchanged')),
    again.stdout,
  );
});

test('a changed DaemonSet re-applied (new image, one env value) is patched to exactly the new manifest', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  await apply(sims.kubeconfigPath, manifestsDir.pathname);
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await cp(manifestsDir.pathname, dir, { recursive: true });
  const file = join(dir, 'daemonset.yaml');
  const document = parseDocument(await readFile(file, 'utf8'));
  const containers = ['spec', 'template', 'spec', 'containers', 0];
  document.setIn([...containers, 'image'], 'registry.example/vpc-cni:0.1.1');
  const env = document.getIn([...containers, 'env']) as {
    items: { get(key: string): unknown; set(k: string, v: unknown): void }[];
  };
  env.items.find((item) => item.get('name') === 'WARM_ENI_TARGET')!.set('value', '2');
  await writeFile(file, document.toString());
  const { stdout } = await apply(sims.kubeconfigPath, dir);
  t.regex(stdout, /^daemonset\.apps\/vpc-cni configured$/m);
  t.is(stdout.split('\n').filter((line) => line.endsWith(' unchanged')).length, stdout.split('\n').length - 1);
  const changed = document.toJS() as KubeObject;
  t.deepEqual(asApplied(stored(sims, changed)), changed);
});
