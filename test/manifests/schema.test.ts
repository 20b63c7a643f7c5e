import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';
import { type KubeObject, manifestDocuments, root } from './support.ts';

interface Model {
  validate(): void;
}

/** The kubernetes-models class of an object's apiVersion and kind (its modules are laid out exactly so). */
async function modelOf(object: KubeObject): Promise<Model> {
  const module = (await import(`kubernetes-models/${object.apiVersion}/${object.kind}`)) as Record<
    string,
    new (
      data: KubeObject,
    ) => Model
  >;
  return new module[object.kind]!(object);
}

/** The schema's complaint about an object, or undefined when it validates. */
async function schemaError(object: KubeObject): Promise<string | undefined> {
  try {
    (await modelOf(object)).validate();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Fields the Kubernetes types do not have. kubernetes-models' validators accept unknown properties, as the API server
 * did before strict field validation, and a misspelt `readinessProbe` would pass them unnoticed; the API server with
 * `fieldValidation=Strict` (kubectl's default) refuses it. TypeScript's excess-property check on the same models'
 * interfaces finds exactly those: each object becomes a literal typed as its kind, and every complaint is kept.
 */
function typeErrors(objects: readonly KubeObject[]): string[] {
  const fileName = join(fileURLToPath(root), 'test/manifests/objects.generated.ts');
  const text = objects
    .map(
      (object, i) =>
        `import type { I${object.kind} as T${i} } from 'kubernetes-models/${object.apiVersion}/${object.kind}';\n` +
        `export const o${i}: T${i} = ${JSON.stringify(object)};\n`,
    )
    .join('');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === fileName ? ts.createSourceFile(name, text, version) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === fileName || fileExists.call(host, name);
  host.readFile = (name) => (name === fileName ? text : readFile.call(host, name));
  const program = ts.createProgram([fileName], options, host);
  const source = program.getSourceFile(fileName)!;
  return ts.getPreEmitDiagnostics(program, source).map((diagnostic) => {
    const line = diagnostic.start === undefined ? -1 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
    const object = objects[Math.floor(line / 2)];
    return `${object?.kind} ${object?.metadata.name}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}

test('every object in manifests/ validates against its Kubernetes schema and has no field the schema lacks', async (t) => {
  const documents = await manifestDocuments();
  t.deepEqual(
    documents.map((d) => `${d.file}: ${d.object.kind}`),
    [
      'amazon-vpc-cni.configmap.yaml: ConfigMap',
      'daemonset.yaml: DaemonSet',
      'eniconfig.crd.yaml: CustomResourceDefinition',
      'rbac.yaml: ServiceAccount',
      'rbac.yaml: ClusterRole',
      'rbac.yaml: ClusterRoleBinding',
      'rbac.yaml: Role',
      'rbac.yaml: RoleBinding',
    ],
  );
  for (const { file, object } of documents) t.is(await schemaError(object), undefined, file);
  t.deepEqual(typeErrors(documents.map((d) => d.object)), []);
});

/** The shipped DaemonSet with one change made by `edit`. */
async function brokenDaemonSet(edit: (pod: Record<string, unknown>, container: Record<string, unknown>) => void) {
  const daemonSet = structuredClone((await manifestDocuments()).find((d) => d.object.kind === 'DaemonSet')!.object);
  const pod = (daemonSet.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  edit(pod, (pod.containers as Record<string, unknown>[])[0]!);
  return daemonSet;
}

test('the checks catch a broken manifest: a wrong type, a missing required field, a misspelt field', async (t) => {
  const wrongType = await brokenDaemonSet((_, container) => {
    container.ports = [{ name: 'metrics', containerPort: '61678' }];
  });
  t.regex((await schemaError(wrongType)) ?? '', /containers\/0\/ports\/0\/containerPort must be integer/);

  const missing = await brokenDaemonSet((_, container) => {
    delete container.name;
  });
  t.regex((await schemaError(missing)) ?? '', /containers\/0 must have required property name/);

  const misspelt = await brokenDaemonSet((_, container) => {
    container.readynessProbe = container.readinessProbe;
    delete container.readinessProbe;
  });
  t.is(await schemaError(misspelt), undefined, 'the schema alone lets it through');
  const [error, ...more] = typeErrors([misspelt]);
  t.deepEqual(more, []);
  t.regex(error ?? '', /^DaemonSet vpc-cni: .*'"readynessProbe"' does not exist in type 'IContainer'/);
});
