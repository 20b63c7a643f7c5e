import test from 'ava';
import { generatedCatalog, parseConfig } from '../../../src/compiler/settings/index.ts';

/**
 * Every setting with a value it must accept (and the typed value it becomes) and a value it must refuse. The last
 * test fails when a setting is added to the schema without a row here.
 */
const rows: Record<string, { good: [string, unknown]; bad: string }> = {
  AWS_VPC_K8S_CNI_EXTERNALSNAT: { good: ['True', true], bad: 'yes' },
  AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: {
    good: ['10.1.2.3/16, 0.0.0.0/0', ['10.1.0.0/16', '0.0.0.0/0']],
    bad: '10.0.0.0/33',
  },
  AWS_EXTERNAL_SERVICE_CIDRS: { good: ['192.168.0.0/24', ['192.168.0.0/24']], bad: 'fd00::/8' },
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: { good: ['hashrandom', 'hashrandom'], bad: 'random' },
  AWS_VPC_CNI_NODE_PORT_SUPPORT: { good: ['F', false], bad: 'off' },
  AWS_VPC_K8S_CNI_CONNMARK: { good: ['0x4000', 0x4000], bad: '0' },
  VPC_CNI_IPTABLES_MODE: { good: ['legacy', 'legacy'], bad: 'nft' },
  AWS_VPC_ENI_MTU: { good: ['576', 576], bad: '9002' },
  POD_MTU: { good: ['1500', 1500], bad: '575' },
  AWS_VPC_K8S_CNI_VETHPREFIX: { good: ['veth', 'veth'], bad: 'vlan' },
  DISABLE_TCP_EARLY_DEMUX: { good: ['1', true], bad: '2' },
  ENABLE_BANDWIDTH_PLUGIN: { good: ['t', true], bad: 'Yes' },
  DISABLE_POD_V6: { good: ['FALSE', false], bad: 'no' },
  ENABLE_IPv4: { good: ['true', true], bad: 'enabled' },
  ENABLE_IPv6: { good: ['false', false], bad: 'TRUE!' },
  ENABLE_V6_EGRESS: { good: ['0', false], bad: '00' },
  ENABLE_V4_EGRESS: { good: ['True', true], bad: 'tRUE' },
  ENABLE_POD_ENI: { good: ['false', false], bad: 'y' },
  POD_SECURITY_GROUP_ENFORCING_MODE: { good: ['standard', 'standard'], bad: 'Strict' },
  NETWORK_POLICY_ENFORCING_MODE: { good: ['STRICT', 'strict'], bad: 'enforcing' },
  WARM_ENI_TARGET: { good: ['0', 0], bad: '-1' },
  WARM_IP_TARGET: { good: ['5', 5], bad: 'five' },
  MINIMUM_IP_TARGET: { good: ['10', 10], bad: '1.5' },
  WARM_PREFIX_TARGET: { good: ['2', 2], bad: '-2' },
  ENABLE_PREFIX_DELEGATION: { good: ['false', false], bad: 'on' },
  MAX_ENI: { good: ['3', 3], bad: '0' },
  IP_COOLDOWN_PERIOD: { good: ['0', 0], bad: '-5' },
  ENABLE_MULTI_NIC: { good: ['true', true], bad: 'multi' },
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: { good: ['false', false], bad: '1 ' },
  ENI_CONFIG_ANNOTATION_DEF: { good: ['example.com/eni', 'example.com/eni'], bad: '' },
  ENI_CONFIG_LABEL_DEF: { good: ['topology.kubernetes.io/zone', 'topology.kubernetes.io/zone'], bad: '' },
  AWS_MANAGE_ENIS_NON_SCHEDULABLE: { good: ['true', true], bad: 'sometimes' },
  ENABLE_SUBNET_DISCOVERY: { good: ['false', false], bad: 'never' },
  DISABLE_NETWORK_RESOURCE_PROVISIONING: { good: ['false', false], bad: 'nope' },
  ENABLE_IMDS_ONLY_MODE: { good: ['false', false], bad: 'imds' },
  DISABLE_LEAKED_ENI_CLEANUP: { good: ['true', true], bad: 'x' },
  MANAGE_UNTAGGED_ENI: { good: ['false', false], bad: 'untagged' },
  ANNOTATE_POD_IP: { good: ['true', true], bad: 'annotate' },
  AWS_VPC_K8S_CNI_BACKING_STORE: { good: ['/tmp/ipam.json', '/tmp/ipam.json'], bad: '' },
  ADDITIONAL_ENI_TAGS: { good: ['{"team":"net"}', { team: 'net' }], bad: '{"team":1}' },
  CLUSTER_NAME: { good: ['prod', 'prod'], bad: '\u0000never-refused-placeholder' },
  VPC_CNI_EC2_RATE_LIMIT: { good: ['5', 5], bad: '0' },
  VPC_CNI_EC2_RATE_BURST: { good: ['50', 50], bad: '1001' },
  HOST_CNI_BIN_PATH: { good: ['/opt/cni/bin', '/opt/cni/bin'], bad: '' },
  HOST_CNI_CONFDIR_PATH: { good: ['/etc/cni/net.d', '/etc/cni/net.d'], bad: '' },
  AWS_VPC_K8S_PLUGIN_LOG_FILE: { good: ['stderr', 'stderr'], bad: 'stdout' },
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: { good: ['INFO', 'info'], bad: 'verbose' },
  AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE: {
    good: ['/var/log/e4.log', '/var/log/e4.log'],
    bad: '\u0000never-refused-placeholder',
  },
  AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE: {
    good: ['/var/log/e6.log', '/var/log/e6.log'],
    bad: '\u0000never-refused-placeholder',
  },
  AWS_VPC_K8S_CNI_LOGLEVEL: { good: ['Warn', 'warn'], bad: 'trace' },
  AWS_VPC_K8S_CNI_LOG_FILE: { good: ['stdout', 'stdout'], bad: '' },
  INTROSPECTION_BIND_ADDRESS: { good: ['unix:/run/intro.sock', 'unix:/run/intro.sock'], bad: 'localhost' },
  DISABLE_INTROSPECTION: { good: ['true', true], bad: 'disable' },
  DISABLE_METRICS: { good: ['true', true], bad: 'metrics' },
  VPC_CNI_VERSION: { good: ['v1.23.1', 'v1.23.1'], bad: '\u0000never-refused-placeholder' },
  CLUSTER_ENDPOINT: { good: ['https://api.example:443', 'https://api.example:443'], bad: 'not a url' },
  AWS_EC2_ENDPOINT: { good: ['http://127.0.0.1:4566', 'http://127.0.0.1:4566'], bad: '127.0.0.1 4566' },
  HTTP_TIMEOUT: { good: ['30', 30], bad: '5' },
  MY_NODE_NAME: {
    good: ['ip-10-0-1-5.ec2.internal', 'ip-10-0-1-5.ec2.internal'],
    bad: '\u0000never-refused-placeholder',
  },
  MY_POD_NAME: { good: ['aws-node-abcde', 'aws-node-abcde'], bad: '\u0000never-refused-placeholder' },
  USE_CLOUDWATCH: { good: ['true', true], bad: 'cw' },
  USE_PROMETHEUS: { good: ['false', false], bad: 'prom' },
  METRIC_UPDATE_INTERVAL: { good: ['60', 60], bad: '0' },
  AWS_REGION: { good: ['eu-west-1', 'eu-west-1'], bad: '\u0000never-refused-placeholder' },
  AWS_CLUSTER_ID: { good: ['c-1', 'c-1'], bad: '\u0000never-refused-placeholder' },
  'enable-network-policy-controller': { good: ['true', true], bad: 'enabled' },
  'enable-windows-ipam': { good: ['false', false], bad: 'windows' },
  'enable-windows-prefix-delegation': { good: ['false', false], bad: 'pd' },
  'warm-prefix-target': { good: ['1', 1], bad: '-1' },
  'warm-ip-target': { good: ['3', 3], bad: 'three' },
  'minimum-ip-target': { good: ['0', 0], bad: '-3' },
  'branch-eni-cooldown': { good: ['90', 90], bad: '10' },
};

/** Free-form strings accept anything: there is no bad value to test, and the table says so explicitly. */
const FREE_FORM = '\u0000never-refused-placeholder';
const catalog = generatedCatalog();

function parseOne(key: string, value: string) {
  const source = catalog[key]?.source === 'configmap' ? ('configmap' as const) : ('env' as const);
  const origin = source === 'configmap' ? { kind: source, file: 'cm.yaml' } : { kind: source };
  return parseConfig([{ kind: source, values: [{ key, value, source: origin }] }], catalog);
}

for (const [key, { good, bad }] of Object.entries(rows)) {
  test(`${key} accepts ${JSON.stringify(good[0])}`, (t) => {
    const result = parseOne(key, good[0]);
    t.true(result.ok, JSON.stringify(!result.ok && result.errors));
    t.deepEqual(result.values[key]?.value, good[1]);
  });
  if (bad === FREE_FORM) continue;
  test(`${key} refuses ${JSON.stringify(bad)}, naming key, value and what is allowed`, (t) => {
    const result = parseOne(key, bad);
    t.false(result.ok);
    const issue = !result.ok ? result.errors.find((e) => e.key === key) : undefined;
    t.truthy(issue, 'an error names the key');
    t.is(issue?.value, bad);
    t.truthy(issue?.allowed, 'the error says what is allowed');
  });
}

test('every setting in the schema has a row here', (t) => {
  const noop = Object.keys(catalog).filter((k) => catalog[k]!.kind === 'noop');
  t.deepEqual(
    Object.keys(catalog)
      .filter((k) => !noop.includes(k))
      .sort(),
    Object.keys(rows).sort(),
  );
});

test('AWS_VPC_ENI_MTU=99999 names the key, the value and 576–9001', (t) => {
  const result = parseOne('AWS_VPC_ENI_MTU', '99999');
  t.false(result.ok);
  const issue = !result.ok ? result.errors[0] : undefined;
  t.is(issue?.allowed, 'an integer in 576–9001');
});

test('booleans accept exactly what Go strconv.ParseBool accepts', (t) => {
  for (const v of ['1', 't', 'T', 'TRUE', 'true', 'True'])
    t.true(parseOne('ENABLE_POD_ENI', v).values.ENABLE_POD_ENI?.value);
  for (const v of ['0', 'f', 'F', 'FALSE', 'false', 'False'])
    t.is(parseOne('ENABLE_POD_ENI', v).values.ENABLE_POD_ENI?.value, false);
  for (const v of ['yes', 'no', 'on', 'off', 'tRue', 'FaLsE', ' true', '2'])
    t.false(parseOne('ENABLE_POD_ENI', v).ok, v);
});

test('connmark accepts Go base prefixes', (t) => {
  for (const [text, value] of [
    ['128', 128],
    ['0x80', 128],
    ['0o200', 128],
    ['0200', 128],
    ['0b10000000', 128],
    ['0xFFFFFFFF', 0xffffffff],
  ] as const) {
    t.is(parseOne('AWS_VPC_K8S_CNI_CONNMARK', text).values.AWS_VPC_K8S_CNI_CONNMARK?.value, value, text);
  }
  t.false(parseOne('AWS_VPC_K8S_CNI_CONNMARK', '0x100000000').ok);
});

test('an empty value for a typed setting means its default, with a warning', (t) => {
  const result = parseOne('WARM_ENI_TARGET', '');
  t.true(result.ok);
  t.is(result.values.WARM_ENI_TARGET?.value, 1);
  t.is(result.warnings[0]?.code, 'empty_value');
});

test('reserved ADDITIONAL_ENI_TAGS keys are dropped with a warning', (t) => {
  const result = parseOne('ADDITIONAL_ENI_TAGS', '{"node.k8s.amazonaws.com/x":"y","team":"net"}');
  t.true(result.ok);
  t.deepEqual(result.values.ADDITIONAL_ENI_TAGS?.value, { team: 'net' });
  t.is(result.warnings[0]?.code, 'dropped');
});

test('deprecated no-op variables earn a warning, not silence', (t) => {
  for (const key of ['AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER', 'ENABLE_NFTABLES']) {
    const result = parseOne(key, 'true');
    t.true(result.ok);
    t.is(result.warnings[0]?.code, 'deprecated', key);
  }
});

test('all errors are reported in one run', (t) => {
  const result = parseConfig(
    [
      {
        kind: 'env',
        values: ['AWS_VPC_ENI_MTU=1', 'WARM_IP_TARGET=x', 'ENABLE_IPv6=maybe'].map((kv) => {
          const [key, value] = kv.split('=') as [string, string];
          return { key, value, source: { kind: 'env' as const } };
        }),
      },
    ],
    catalog,
  );
  t.false(result.ok);
  t.deepEqual(!result.ok && result.errors.map((e) => e.key).sort(), [
    'AWS_VPC_ENI_MTU',
    'ENABLE_IPv6',
    'WARM_IP_TARGET',
  ]);
});
