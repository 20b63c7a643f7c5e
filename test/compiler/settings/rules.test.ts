import test from 'ava';
import { generatedCatalog, parseConfig } from '../../../src/compiler/settings/index.ts';

function parse(env: Record<string, string>) {
  const values = Object.entries(env).map(([key, value]) => ({ key, value, source: { kind: 'env' as const } }));
  return parseConfig([{ kind: 'env', values }], generatedCatalog());
}

function errorKeys(env: Record<string, string>): string[] {
  const result = parse(env);
  return result.ok ? [] : result.errors.map((e) => `${e.key}:${e.code}`);
}

function warningKeys(env: Record<string, string>): string[] {
  const result = parse(env);
  t_assertOk(result.ok, env);
  return result.warnings.map((w) => `${w.key}:${w.code}`);
}

function t_assertOk(ok: boolean, env: Record<string, string>): void {
  if (!ok) throw new Error(`expected a valid config for ${JSON.stringify(env)}`);
}

test('defaults are valid: IPv4 on, IPv6 off', (t) => {
  const result = parse({});
  t.true(result.ok);
  t.true(result.ok && result.config.ENABLE_IPv4);
  t.deepEqual(result.warnings, []);
});

test('exactly one of ENABLE_IPv4 and ENABLE_IPv6', (t) => {
  t.deepEqual(errorKeys({ ENABLE_IPv4: 'false' }), ['ENABLE_IPv6:conflict']);
  t.true(
    errorKeys({
      ENABLE_IPv4: 'true',
      ENABLE_IPv6: 'true',
      ENABLE_PREFIX_DELEGATION: 'true',
      WARM_PREFIX_TARGET: '1',
    }).includes('ENABLE_IPv6:conflict'),
  );
  t.deepEqual(
    errorKeys({ ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }),
    [],
  );
});

test('IPv6 needs prefix delegation and no custom networking', (t) => {
  t.deepEqual(errorKeys({ ENABLE_IPv4: 'false', ENABLE_IPv6: 'true' }), ['ENABLE_IPv6:conflict']);
  t.deepEqual(
    errorKeys({
      ENABLE_IPv4: 'false',
      ENABLE_IPv6: 'true',
      ENABLE_PREFIX_DELEGATION: 'true',
      WARM_PREFIX_TARGET: '1',
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
    }),
    ['AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG:conflict'],
  );
});

test('IPv6 mode raises the MTU floor to 1280 for ENIs and pods', (t) => {
  const v6 = { ENABLE_IPv4: 'false', ENABLE_IPv6: 'true', ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' };
  t.deepEqual(errorKeys({ ...v6, AWS_VPC_ENI_MTU: '1279' }), [
    'AWS_VPC_ENI_MTU:invalid_value',
    'POD_MTU:invalid_value',
  ]);
  t.deepEqual(errorKeys({ ...v6, AWS_VPC_ENI_MTU: '1280' }), []);
  t.deepEqual(errorKeys({ AWS_VPC_ENI_MTU: '1279' }), [], 'IPv4 allows down to 576');
});

test('POD_SECURITY_GROUP_ENFORCING_MODE only strict or standard, and a warning without ENABLE_POD_ENI', (t) => {
  t.deepEqual(errorKeys({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'loose' }), [
    'POD_SECURITY_GROUP_ENFORCING_MODE:invalid_value',
  ]);
  t.deepEqual(warningKeys({ POD_SECURITY_GROUP_ENFORCING_MODE: 'standard' }), [
    'POD_SECURITY_GROUP_ENFORCING_MODE:ignored',
  ]);
  t.deepEqual(warningKeys({ ENABLE_POD_ENI: 'true', POD_SECURITY_GROUP_ENFORCING_MODE: 'standard' }), []);
});

test('prefix delegation with every target 0 is refused', (t) => {
  t.deepEqual(errorKeys({ ENABLE_PREFIX_DELEGATION: 'true' }), ['ENABLE_PREFIX_DELEGATION:conflict']);
  t.deepEqual(errorKeys({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '0', WARM_IP_TARGET: '0' }), [
    'ENABLE_PREFIX_DELEGATION:conflict',
  ]);
  t.deepEqual(errorKeys({ ENABLE_PREFIX_DELEGATION: 'true', WARM_IP_TARGET: '4' }), []);
});

test('WARM_ENI_TARGET is reported as ignored when IP targets are set', (t) => {
  t.deepEqual(warningKeys({ WARM_ENI_TARGET: '2', WARM_IP_TARGET: '5' }), ['WARM_ENI_TARGET:ignored']);
  t.deepEqual(warningKeys({ WARM_IP_TARGET: '5' }), [], 'not when it was left at its default');
  t.deepEqual(warningKeys({ WARM_ENI_TARGET: '2', ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }), [
    'WARM_ENI_TARGET:ignored',
  ]);
});

test('MINIMUM_IP_TARGET without WARM_IP_TARGET is a warning', (t) => {
  t.deepEqual(warningKeys({ MINIMUM_IP_TARGET: '10' }), ['MINIMUM_IP_TARGET:ignored']);
  t.deepEqual(warningKeys({ MINIMUM_IP_TARGET: '10', WARM_IP_TARGET: '2' }), []);
});

test('settings that only matter with another one are flagged', (t) => {
  t.deepEqual(warningKeys({ WARM_PREFIX_TARGET: '2' }), ['WARM_PREFIX_TARGET:ignored']);
  t.deepEqual(
    warningKeys({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.9.0.0/16' }),
    ['AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS:ignored'],
  );
  t.deepEqual(warningKeys({ ENABLE_IMDS_ONLY_MODE: 'true', DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false' }), [
    'DISABLE_NETWORK_RESOURCE_PROVISIONING:ignored',
  ]);
});

test('deprecated no-op variables are warnings', (t) => {
  t.deepEqual(warningKeys({ AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER: 'false', ENABLE_NFTABLES: 'true' }), [
    'AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER:deprecated',
    'ENABLE_NFTABLES:deprecated',
  ]);
});

test('an unknown key that looks like ours is a warning with a did-you-mean', (t) => {
  const result = parse({ WARM_IP_TARGE: '3', AWS_VPC_ENI_MTUU: '1500', PATH: '/bin', AWS_REGION_X: 'a' });
  t.true(result.ok);
  t.deepEqual(
    result.warnings.map((w) => [w.key, w.suggestion]),
    [
      ['WARM_IP_TARGE', 'WARM_IP_TARGET'],
      ['AWS_VPC_ENI_MTUU', 'AWS_VPC_ENI_MTU'],
    ],
  );
});

test('POD_MTU follows AWS_VPC_ENI_MTU unless set', (t) => {
  const follows = parse({ AWS_VPC_ENI_MTU: '1500' });
  t.is(follows.values.POD_MTU?.value, 1500);
  t.deepEqual(follows.values.POD_MTU?.source, { kind: 'derived', from: 'AWS_VPC_ENI_MTU' });
  const own = parse({ AWS_VPC_ENI_MTU: '1500', POD_MTU: '1400' });
  t.is(own.values.POD_MTU?.value, 1400);
});
