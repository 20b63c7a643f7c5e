import { readFile } from 'node:fs/promises';
import test from 'ava';
import { generatedCatalog } from '../../src/compiler/settings/index.ts';
import { renderSettingsModule, settingsModulePath } from '../../src/config/generate.ts';
import { configSchemaFile, loadCatalog, loadCatalogFromText, SchemaError } from '../../src/config/schema.ts';

// CUE-in-wasm keeps process-global state: these tests share one evaluation and run serially.
test.serial('the CUE schema and the generated TypeScript catalog are identical (no drift)', async (t) => {
  t.deepEqual(await loadCatalog(), generatedCatalog());
  t.is(await readFile(settingsModulePath, 'utf8'), await renderSettingsModule(), 'run `npm run gen`');
});

test.serial('CUE refuses a schema whose default breaks its own constraint', async (t) => {
  const schema = await readFile(configSchemaFile, 'utf8');
  const broken = schema.replace('default: 9001, min: 576, max: 9001', 'default: 99999, min: 576, max: 9001');
  t.not(broken, schema);
  const error = await t.throwsAsync(loadCatalogFromText(broken), { instanceOf: SchemaError });
  t.regex(error!.message, /AWS_VPC_ENI_MTU/);
});

test.serial('CUE refuses a setting without a known kind, or whose default is not of its kind', async (t) => {
  const schema = await readFile(configSchemaFile, 'utf8');
  const cases = [
    ['FOO: {doc: "x", readBy: [], default: true}', /settings\.FOO/],
    ['FOO: {kind: "flag", doc: "x", readBy: [], default: true}', /settings\.FOO/],
    ['FOO: {kind: "bool", doc: "x", readBy: [], default: 1}', /settings\.FOO\.default/],
    ['FOO: {kind: "int", doc: "x", readBy: [], default: 11, min: 1, max: 10}', /settings\.FOO/],
  ] as const;
  for (const [setting, message] of cases) {
    const error = await t.throwsAsync(loadCatalogFromText(`${schema}\nsettings: ${setting}\n`), {
      instanceOf: SchemaError,
    });
    t.regex(error!.message, message, setting);
  }
  // The same line with a valid kind and default evaluates: the refusals above are about the setting, not the syntax.
  const valid = await loadCatalogFromText(
    `${schema}\nsettings: FOO: {kind: "bool", doc: "x", readBy: [], default: true}\n`,
  );
  t.is(valid.FOO?.kind, 'bool');
});

test.serial('the schema covers the documented ConfigMap keys and every reference variable', async (t) => {
  const keys = Object.keys(await loadCatalog());
  for (const key of [
    'enable-network-policy-controller',
    'AWS_VPC_K8S_CNI_EXTERNALSNAT',
    'AWS_VPC_K8S_CNI_RANDOMIZESNAT',
    'POD_MTU',
    'ENABLE_PREFIX_DELEGATION',
    'ENI_CONFIG_LABEL_DEF',
    'ADDITIONAL_ENI_TAGS',
    'INTROSPECTION_BIND_ADDRESS',
    'AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER',
  ]) {
    t.true(keys.includes(key), key);
  }
  t.true(keys.length >= 70);
});
