import test from 'ava';
import {
  envLayer,
  generatedCatalog,
  parseConfig,
  parseConfigMap,
  parseEnvFile,
} from '../../../src/compiler/settings/index.ts';

const configMap = (data: Record<string, unknown>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'amazon-vpc-cni', namespace: 'kube-system' },
  data,
});

test('precedence: default < ConfigMap < env file < environment, and each value remembers its source', (t) => {
  const cm = parseConfigMap(
    configMap({ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '2', WARM_ENI_TARGET: '3' }),
    'cm.yaml',
  );
  const file = parseEnvFile('# comment\nMINIMUM_IP_TARGET=20\nexport WARM_ENI_TARGET="30"\n', 'node.env');
  const env = envLayer({ WARM_ENI_TARGET: '300', HOME: '/root' }, () => true);
  // Layers given out of order on purpose: precedence comes from the kind of source, not from argument order.
  const result = parseConfig([env, file.layer, cm.layer], generatedCatalog());
  t.true(result.ok);
  t.deepEqual(result.values.WARM_IP_TARGET, { value: 1, source: { kind: 'configmap', file: 'cm.yaml' }, raw: '1' });
  t.deepEqual(result.values.MINIMUM_IP_TARGET, {
    value: 20,
    source: { kind: 'env-file', file: 'node.env', line: 2 },
    raw: '20',
  });
  t.deepEqual(result.values.WARM_ENI_TARGET, { value: 300, source: { kind: 'env' }, raw: '300' });
  t.deepEqual(result.values.WARM_PREFIX_TARGET, { value: 0, source: { kind: 'default' } });
});

test('an error names the source it came from', (t) => {
  const file = parseEnvFile('AWS_VPC_ENI_MTU=99999\n', 'node.env');
  const result = parseConfig([file.layer], generatedCatalog());
  t.false(result.ok);
  t.deepEqual(!result.ok && result.errors[0]?.source, { kind: 'env-file', file: 'node.env', line: 1 });
});

test('env file: malformed lines are reported with their line number', (t) => {
  const { layer, problems } = parseEnvFile('A=1\nnot a pair\n=2\n', 'x.env');
  t.deepEqual(
    layer.values.map((v) => v.key),
    ['A'],
  );
  t.deepEqual(
    problems.map((p) => p.where),
    ['x.env:2', 'x.env:3'],
  );
});

test('ConfigMap: documented keys are validated, non-string values are refused', (t) => {
  const { layer, problems } = parseConfigMap(
    configMap({ 'enable-network-policy-controller': 'true', 'warm-ip-target': 1 }),
    'cm.yaml',
  );
  t.is(problems.length, 1);
  t.regex(problems[0]!.message, /not a string.*quoted/);
  const result = parseConfig([layer], generatedCatalog(), problems);
  t.false(result.ok);
  t.is(result.values['enable-network-policy-controller']?.value, true);
});

test('ConfigMap: any env variable may be given as a data key, and unknown keys get a suggestion', (t) => {
  const { layer } = parseConfigMap(
    configMap({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', 'warm-ip-targt': '1' }),
    'cm.yaml',
  );
  const result = parseConfig([layer], generatedCatalog());
  t.true(result.ok);
  t.is(result.ok && result.config.AWS_VPC_K8S_CNI_EXTERNALSNAT, true);
  t.deepEqual(
    result.warnings.map((w) => w.suggestion),
    ['warm-ip-target'],
  );
});

test('a manifest that is not a ConfigMap is refused', (t) => {
  t.regex(parseConfigMap({ kind: 'Secret', data: {} }, 'x.yaml').problems[0]!.message, /expected ConfigMap/);
  t.regex(parseConfigMap('text', 'x.yaml').problems[0]!.message, /not a ConfigMap manifest/);
});
