import test from 'ava';
import { type KubeObject, RESOURCES, startSimulators } from '../../src/sim/index.ts';
import { manifestDocuments, only } from './support.ts';

interface Schema {
  type: 'object' | 'array' | 'string';
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
}

/** Where a value breaks the structural schema (the subset of OpenAPI v3 the CRD uses), as JSON paths. */
function violations(value: unknown, schema: Schema, path = ''): string[] {
  if (schema.type === 'string') return typeof value === 'string' ? [] : [`${path}: not a string`];
  if (schema.type === 'array')
    return Array.isArray(value)
      ? value.flatMap((item, i) => violations(item, schema.items!, `${path}[${i}]`))
      : [`${path}: not an array`];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
  const fields = value as Record<string, unknown>;
  return [
    ...(schema.required ?? []).filter((key) => !(key in fields)).map((key) => `${path}.${key}: required`),
    ...Object.entries(fields).flatMap(([key, field]) => {
      const declared = schema.properties?.[key];
      // The API server prunes undeclared fields from a structural schema: the agent would never see them.
      return declared === undefined
        ? [`${path}.${key}: not in the schema`]
        : violations(field, declared, `${path}.${key}`);
    }),
  ];
}

test('the ENIConfig CRD defines the resource the agent watches, and the ENIConfigs custom networking uses fit its schema', async (t) => {
  const crd = only(await manifestDocuments(), 'CustomResourceDefinition');
  const spec = crd.spec as {
    group: string;
    scope: string;
    names: { plural: string; kind: string };
    versions: { name: string; served: boolean; storage: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
  const [version, ...others] = spec.versions;
  t.deepEqual(others, []);
  // The simulator serves the resource as the agent asks for it (/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs).
  const served = RESOURCES.find((r) => r.kind === 'ENIConfig')!;
  t.deepEqual(
    { group: spec.group, version: version!.name, plural: spec.names.plural, namespaced: spec.scope !== 'Cluster' },
    { group: served.group, version: served.version, plural: served.plural, namespaced: served.namespaced },
  );
  t.is(crd.metadata.name, `${spec.names.plural}.${spec.group}`);
  const schema = version!.schema.openAPIV3Schema;
  // ENIConfigs as the simulator seeds them for custom networking: one per zone, a subnet and security groups.
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const seeded = sims.kubernetes.list(served, undefined);
  t.true(seeded.length > 0);
  const body = ({ spec }: KubeObject) => ({ spec });
  for (const object of seeded) t.deepEqual(violations(body(object), schema), [], object.metadata.name);
  // And the schema can fail: no subnet, a security group that is not a string, a misspelt field.
  t.deepEqual(violations({ spec: { securityGroups: ['sg-1', 7], subnets: 'subnet-1' } }, schema), [
    '.spec.subnet: required',
    '.spec.securityGroups[1]: not a string',
    '.spec.subnets: not in the schema',
  ]);
});
