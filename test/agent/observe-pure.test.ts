import test from 'ava';
import {
  imdsEc2Findings,
  iptablesFindings,
  kubeletFindings,
  leakedFindings,
  maxPodsFindings,
  mtuFindings,
  rpFilterFindings,
  subnetFindings,
} from '../../src/agent/doctor.ts';
import { formatBindAddress, isLoopback, parseBindAddress } from '../../src/agent/endpoint.ts';
import { parsePodRef, snatPath } from '../../src/agent/explain.ts';
import { checkIntrospectionBind } from '../../src/agent/introspection.ts';
import { healthAndMetrics } from '../../src/agent/metrics.ts';
import { poolFigures } from '../../src/agent/pool-figures.ts';
import type { NodeFacts } from '../../src/compiler/facts.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import type { Lease } from '../../src/ipam/datastore.ts';

test('bind addresses: host:port, [v6]:port, :port (every interface), unix:path; junk is refused by name', (t) => {
  t.deepEqual(parseBindAddress('127.0.0.1:61679', 'X'), { kind: 'tcp', host: '127.0.0.1', port: 61679 });
  t.deepEqual(parseBindAddress(':61678', 'X'), { kind: 'tcp', host: '0.0.0.0', port: 61678 });
  t.deepEqual(parseBindAddress('[::1]:0', 'X'), { kind: 'tcp', host: '::1', port: 0 });
  t.deepEqual(parseBindAddress('unix:/run/vpc-cni/introspect.sock', 'X'), {
    kind: 'unix',
    path: '/run/vpc-cni/introspect.sock',
  });
  t.is(formatBindAddress(parseBindAddress('[::1]:9', 'X')), '[::1]:9');
  for (const bad of ['61679', 'localhost:99999', 'unix:relative', 'a:b:c'])
    t.throws(() => parseBindAddress(bad, 'INTROSPECTION_BIND_ADDRESS'), { message: /^INTROSPECTION_BIND_ADDRESS=/ });
});

test('introspection refuses a non-loopback address unless allowed explicitly', (t) => {
  for (const ok of ['127.0.0.1:1', '127.3.4.5:1', '[::1]:1', 'localhost:1', 'unix:/x'])
    t.true(isLoopback(parseBindAddress(ok, 'X')), ok);
  for (const remote of ['0.0.0.0:1', '10.0.1.5:1', '[::]:1', 'node.example:1']) {
    const bind = parseBindAddress(remote, 'X');
    t.false(isLoopback(bind), remote);
    t.throws(() => checkIntrospectionBind(bind, false), { message: /--allow-remote-introspection/ });
    t.notThrows(() => checkIntrospectionBind(bind, true));
  }
});

test('pool figures: per ENI and in all; cooling is not free; a quarantined CIDR offers nothing', (t) => {
  const figures = poolFigures({
    pendingPods: 1,
    msSinceLastDecrease: 0,
    prefixFallback: false,
    cordoned: false,
    expectedPods: 0,
    enis: [
      {
        id: 'eni-b',
        deviceNumber: 1,
        primary: false,
        ageMs: 0,
        cidrs: [{ cidr: '10.0.2.16/28', prefix: true, size: 16, assigned: 3, cooling: 2, quarantined: 0 }],
      },
      {
        id: 'eni-a',
        deviceNumber: 0,
        primary: true,
        ageMs: 0,
        cidrs: [
          { cidr: '10.0.1.7/32', prefix: false, size: 1, assigned: 1, cooling: 0, quarantined: 0 },
          { cidr: '10.0.1.8/32', prefix: false, size: 1, assigned: 1, cooling: 0, quarantined: 1 },
          { cidr: '10.0.1.9/32', prefix: false, size: 1, assigned: 0, cooling: 0, quarantined: 0 },
        ],
      },
    ],
  } as never);
  t.deepEqual(
    figures.enis.map((e) => [e.eni, e.total, e.assigned, e.free, e.cooling, e.prefixes]),
    [
      ['eni-a', 3, 2, 1, 0, 0],
      ['eni-b', 16, 3, 11, 2, 1],
    ],
  );
  t.like(figures, { total: 19, assigned: 5, free: 12, cooling: 2, quarantined: 1, prefixes: 1, waitingPods: 1 });
});

test('rp_filter: strict on the primary is an error with its fix; loose is fine; all counts through max(); repeats are said', (t) => {
  t.deepEqual(rpFilterFindings('eth0', { all: '0', iface: '2' }, '2', []), []);
  const strict = rpFilterFindings('eth0', { all: '0', iface: '1' }, '2', []);
  t.is(strict.length, 1);
  t.like(strict[0], { check: 'rp_filter', severity: 'error' });
  t.regex(strict[0]!.problem, /net\.ipv4\.conf\.eth0\.rp_filter is 1/);
  t.regex(strict[0]!.fix, /sysctl -w net\.ipv4\.conf\.eth0\.rp_filter=2/);
  // The kernel applies max(all, eth0): a strict `all` is harmless while eth0 is loose, and decides once eth0 is not.
  t.deepEqual(rpFilterFindings('eth0', { all: '1', iface: '2' }, '2', []), []);
  t.like(rpFilterFindings('eth0', { all: '1', iface: '0' }, '2', [])[0], { severity: 'error' });
  t.like(rpFilterFindings('eth0', { all: '0', iface: '0' }, '2', [])[0], { severity: 'warning' });
  const fought = rpFilterFindings('eth0', { all: '0', iface: '2' }, '2', [
    'sysctl net/ipv4/conf/eth0/rp_filter = 2 restored (1 → 2)',
  ]);
  t.is(fought.length, 1);
  t.regex(fought[0]!.problem, /restored rp_filter 1 time/);
});

test('MTU: ENI links off AWS_VPC_ENI_MTU and pod veths off POD_MTU', (t) => {
  const link = (name: string, mtu: number) => ({
    kind: 'link' as const,
    name,
    mac: '0a:00:00:00:00:01',
    mtu,
    up: true,
    because: 'x',
  });
  t.deepEqual(
    mtuFindings([link('eth0', 9001)], [link('eth0', 9001), link('enia', 9001)], { mtu: 9001, vethPrefix: 'eni' }),
    [],
  );
  const found = mtuFindings([link('eth0', 9001)], [link('eth0', 1500), link('enia', 1500)], {
    mtu: 9001,
    vethPrefix: 'eni',
  });
  t.deepEqual(
    found.map((f) => f.problem),
    [
      'eth0 has MTU 1500, AWS_VPC_ENI_MTU is 9001',
      '1 pod veth(s) have an MTU other than POD_MTU 9001 (enia: 1500): wired under another POD_MTU',
    ],
  );
});

test('iptables backend: a mismatch and rules left in the other backend', (t) => {
  t.deepEqual(iptablesFindings('nf_tables', 'nf_tables', 0), []);
  t.deepEqual(
    iptablesFindings('nf_tables', 'legacy', 4).map((f) => f.severity),
    ['error', 'warning'],
  );
  t.regex(iptablesFindings('nf_tables', 'legacy', 0)[0]!.fix, /VPC_CNI_IPTABLES_MODE=legacy/);
});

test('IMDS vs EC2: ENIs and addresses only one side lists', (t) => {
  const same = [{ id: 'eni-a', cidrs: ['10.0.1.7/32'] }];
  t.deepEqual(imdsEc2Findings(same, same), []);
  const found = imdsEc2Findings(
    [
      { id: 'eni-a', cidrs: ['10.0.1.7/32', '10.0.1.9/32'] },
      { id: 'eni-c', cidrs: [] },
    ],
    [
      { id: 'eni-a', cidrs: ['10.0.1.7/32', '10.0.1.8/32'] },
      { id: 'eni-b', cidrs: [] },
    ],
  );
  t.deepEqual(
    found.map((f) => f.problem),
    [
      'ENI eni-a: EC2 only: 10.0.1.8/32; IMDS only: 10.0.1.9/32',
      'EC2 lists ENI eni-b, IMDS does not',
      'IMDS lists ENI eni-c, EC2 does not',
    ],
  );
});

test('subnets, max-pods and leaked ENIs', (t) => {
  t.deepEqual(subnetFindings([{ id: 'subnet-1', free: 200 }], 14), []);
  t.deepEqual(
    subnetFindings(
      [
        { id: 'subnet-1', free: 0 },
        { id: 'subnet-2', free: 9 },
      ],
      14,
    ).map((f) => f.severity),
    ['error', 'warning'],
  );
  const policy = { maxEnis: 3, slotsPerEni: 5, prefixDelegation: false, skipPrimaryEni: false };
  t.deepEqual(maxPodsFindings({ ...policy, maxPods: 17 }), []);
  t.regex(maxPodsFindings({ ...policy, maxPods: 110 })[0]!.problem, /only 15 pod addresses/);
  t.deepEqual(maxPodsFindings({ ...policy, maxPods: 110, prefixDelegation: true }), []);
  t.deepEqual(kubeletFindings(undefined), []);
  t.deepEqual(kubeletFindings({ capacity: 17, kubeletMaxPods: 17 }), []);
  t.deepEqual(
    kubeletFindings({
      capacity: 17,
      kubeletMaxPods: 110,
      mismatch: 'kubelet maxPods 110 exceeds the 17 pods this node can serve; set the kubelet --max-pods to 17',
    }),
    [
      {
        check: 'max-pods',
        severity: 'error',
        problem: 'kubelet maxPods 110 exceeds the 17 pods this node can serve',
        fix: 'set the kubelet --max-pods to 17',
      },
    ],
  );
  t.deepEqual(leakedFindings([]), []);
  t.regex(leakedFindings(['eni-1', 'eni-2'])[0]!.problem, /^2 ENI\(s\)/);
});

test('explain: pod references and the SNAT path in words', (t) => {
  t.deepEqual(parsePodRef('default/web-0'), { namespace: 'default', name: 'web-0' });
  for (const bad of ['web-0', 'a/b/c', 'Default/web', '/web', 'default/']) t.is(parsePodRef(bad), undefined, bad);
  const facts = {
    localIpv4: '10.0.1.5',
    enis: [{ deviceNumber: 0, networkCard: 0, vpcCidrs: ['10.0.0.0/16'] }],
  } as unknown as NodeFacts;
  const lease = { ip: '10.0.2.9', eniId: 'eni-b', deviceNumber: 1 } as Lease;
  t.deepEqual(snatPath(testConfig(), facts, lease), [
    'to the VPC (10.0.0.0/16): from 10.0.2.9 unchanged, out through ENI eni-b (table 2)',
    'elsewhere: SNAT to 10.0.1.5 (ports prng) by AWS-SNAT-CHAIN-0, out through the primary ENI; the connmark sends replies back through the main table',
  ]);
  const external = snatPath(
    testConfig({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '192.168.0.0/16' }),
    facts,
    lease,
  );
  t.is(external.length, 3);
  t.regex(external[1]!, /^to 192\.168\.0\.0\/16 \(AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS\)/);
  t.regex(external[2]!, /AWS_VPC_K8S_CNI_EXTERNALSNAT=true/);
});

test('the metrics listener: probes always, /metrics only with metrics on (DISABLE_METRICS leaves the probes)', async (t) => {
  const starting = { readiness: () => ({ ready: false, reason: 'converging the host network' }) };
  t.like(await healthAndMetrics(starting, undefined, '/readyz'), {
    status: 503,
    body: 'not ready: converging the host network\n',
  });
  t.like(await healthAndMetrics(starting, undefined, '/healthz'), { status: 200, body: 'ok\n' });
  t.like(await healthAndMetrics(starting, undefined, '/metrics'), { status: 404 });
  const serving = { readiness: () => ({ ready: true, reason: 'serving' }) };
  t.like(await healthAndMetrics(serving, undefined, '/readyz'), { status: 200, body: 'ready\n' });
  t.like(await healthAndMetrics(serving, undefined, '/other'), { status: 404 });
});
