import test from 'ava';
import fc from 'fast-check';
import {
  type ConfigIssue,
  formatIssue,
  generatedCatalog,
  parseConfig,
  parseEnvFile,
  type RawValue,
} from '../../../src/compiler/settings/index.ts';

function run(values: Record<string, string>) {
  const raw: RawValue[] = Object.entries(values).map(([key, value]) => ({ key, value, source: { kind: 'env' } }));
  return parseConfig([{ kind: 'env', values: raw }], generatedCatalog());
}
const errorsOf = (r: ReturnType<typeof run>): readonly ConfigIssue[] => (r.ok ? [] : r.errors);

test('the deprecated no-op reason says "deprecated no-op" once', (t) => {
  const r = run({ ENABLE_NFTABLES: 'true' });
  const line = formatIssue(r.warnings.find((w) => w.key === 'ENABLE_NFTABLES')!);
  t.is(line.match(/deprecated no-op/gi)?.length, 1, line);
});

test('an invalid CIDR is called invalid, a real IPv6 CIDR is called IPv6', (t) => {
  const bad = errorsOf(run({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: 'zz::/200' }));
  t.regex(bad[0]!.reason, /zz::\/200 is not a valid CIDR/);
  const v6 = errorsOf(run({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '2600::/64' }));
  t.regex(v6[0]!.reason, /IPv6/);
});

test('a 2 MB number is "above" its maximum and echoed bounded', (t) => {
  const errors = errorsOf(run({ WARM_IP_TARGET: '9'.repeat(2_000_000) }));
  t.regex(errors[0]!.reason, /above/);
  const line = formatIssue(errors[0]!);
  t.true(line.length < 400, `${line.length} chars`);
  t.regex(line, /\(2000000 chars\)/);
});

for (const bad of ['e"x', 'e x', 'e\nx', '-j', 'a/b']) {
  test(`veth prefix ${JSON.stringify(bad)} is refused`, (t) => {
    t.true(errorsOf(run({ AWS_VPC_K8S_CNI_VETHPREFIX: bad })).some((e) => e.key === 'AWS_VPC_K8S_CNI_VETHPREFIX'));
  });
}

test('ADDITIONAL_ENI_TAGS: EC2 limits (count, key and value length, aws: prefix)', (t) => {
  const many = JSON.stringify(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])));
  for (const tags of [
    many,
    '{"aws:x":"1"}',
    JSON.stringify({ ['k'.repeat(129)]: 'v' }),
    JSON.stringify({ k: 'v'.repeat(257) }),
  ]) {
    t.true(errorsOf(run({ ADDITIONAL_ENI_TAGS: tags })).length > 0, tags.slice(0, 40));
  }
  t.true(run({ ADDITIONAL_ENI_TAGS: '{"team":"net"}' }).ok);
});

test('__proto__, constructor and prototype keys get the unknown-key warning', (t) => {
  const { layer } = parseEnvFile('__proto__=1\nconstructor=2\nprototype=3\n', 'f.env');
  const r = parseConfig([layer], generatedCatalog());
  t.deepEqual(
    r.warnings.filter((w) => w.code === 'unknown_key').map((w) => w.key),
    ['__proto__', 'constructor', 'prototype'],
  );
});

test('a key twice in an env file warns naming both lines; the last wins', (t) => {
  const { layer } = parseEnvFile('WARM_IP_TARGET=1\nAWS_VPC_ENI_MTU=1500\nWARM_IP_TARGET=3\n', 'f.env');
  const r = parseConfig([layer], generatedCatalog());
  t.true(r.ok);
  const line = formatIssue(r.warnings.find((w) => w.key === 'WARM_IP_TARGET')!);
  t.regex(line, /f\.env:1.*line 3/);
  t.is(r.values.WARM_IP_TARGET!.value, 3);
});

test('errors come in file-line order, cross-setting rules in the same run', (t) => {
  const { layer } = parseEnvFile('WARM_IP_TARGET=x\nENABLE_IPv6=true\nAWS_VPC_ENI_MTU=y\n', 'f.env');
  const r = parseConfig([layer], generatedCatalog());
  const errors = r.ok ? [] : r.errors;
  const lines = errors.map((e) => (e.source?.kind === 'env-file' ? e.source.line : 0));
  t.deepEqual(
    lines,
    [...lines].sort((a, b) => a - b),
  );
  t.true(
    errors.some((e) => e.code === 'conflict'),
    'the IPv4/IPv6 rule is reported alongside the value errors',
  );
  t.true(errors.some((e) => e.key === 'AWS_VPC_ENI_MTU' && e.code === 'invalid_value'));
});

test('the stock aws-node env draws no warning', (t) => {
  const stock = {
    ADDITIONAL_ENI_TAGS: '{}',
    AWS_VPC_CNI_NODE_PORT_SUPPORT: 'true',
    AWS_VPC_ENI_MTU: '9001',
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
    AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
    AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
    AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'prng',
    AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
    AWS_VPC_K8S_PLUGIN_LOG_FILE: '/var/log/aws-routed-eni/plugin.log',
    AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG',
    DISABLE_INTROSPECTION: 'false',
    DISABLE_METRICS: 'false',
    DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false',
    ENABLE_IMDS_ONLY_MODE: 'false',
    ENABLE_IPv4: 'true',
    ENABLE_IPv6: 'false',
    ENABLE_MULTI_NIC: 'false',
    ENABLE_POD_ENI: 'false',
    ENABLE_PREFIX_DELEGATION: 'false',
    ENABLE_SUBNET_DISCOVERY: 'true',
    NETWORK_POLICY_ENFORCING_MODE: 'standard',
    VPC_CNI_VERSION: 'v1.23.1',
    WARM_ENI_TARGET: '1',
    WARM_PREFIX_TARGET: '1',
    MY_NODE_NAME: 'ip-10-0-0-1',
    MY_POD_NAME: 'aws-node-abcde',
    VPC_ID: 'vpc-0abc',
  };
  const lines = Object.entries(stock)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n');
  const r = parseConfig([parseEnvFile(lines, 'aws-node.env').layer], generatedCatalog());
  t.true(r.ok, r.ok ? '' : r.errors.map(formatIssue).join('\n'));
  t.deepEqual(r.warnings.map(formatIssue), []);
});

test('property: any value of any setting gives a structured, bounded result; accepted veth prefixes fit the grammar', (t) => {
  const keys = Object.keys(generatedCatalog());
  fc.assert(
    fc.property(fc.constantFrom(...keys), fc.string({ maxLength: 300 }), (key, value) => {
      const r = run({ [key]: value });
      for (const issue of [...(r.ok ? [] : r.errors), ...r.warnings]) {
        if (formatIssue(issue).length > 1200) return false;
      }
      if (r.ok && key === 'AWS_VPC_K8S_CNI_VETHPREFIX') return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,3}$/.test(value);
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: arbitrary env file text never throws', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 500 }), (text) => {
      const { layer, problems } = parseEnvFile(text, 'f.env');
      parseConfig([layer], generatedCatalog(), problems);
      return problems.every((p) => p.message.length < 200);
    }),
  );
  t.pass();
});

test('an unknown key of a megabyte is named short, with no did-you-mean (no quadratic comparison with every setting)', (t) => {
  const key = `WARM_IP_TARGET${'X'.repeat(1024 * 1024)}`;
  const r = run({ [key]: '1' });
  const lines = r.warnings.map(formatIssue);
  t.is(lines.length, 1);
  t.true(lines[0]!.length < 300, lines[0]!.slice(0, 300));
  t.notRegex(lines[0]!, /did you mean/);
  t.regex(lines[0]!, /\(1048590 chars\)/);
});
