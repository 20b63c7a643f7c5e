import test from 'ava';
import { parseNodeFacts } from '../../src/compiler/facts.ts';
import { podAssignments } from '../../src/compiler/pod-assignments.ts';
import { hostVethName } from '../../src/lib/pod-wiring.ts';

const facts = parseNodeFacts(
  {
    version: 1,
    instanceId: 'i-0abc',
    instanceType: 't3.medium',
    availabilityZone: 'us-west-2a',
    region: 'us-west-2',
    primaryMac: '02:00:00:00:00:01',
    localIpv4: '10.0.0.4',
    enis: [
      {
        mac: '02:00:00:00:00:01',
        deviceNumber: 0,
        interfaceId: 'eni-0a',
        subnetId: 'subnet-0a',
        subnetCidr: '10.0.0.0/20',
        vpcCidrs: ['10.0.0.0/16'],
        localIpv4s: ['10.0.0.4', '10.0.0.5'],
      },
      {
        mac: '02:00:00:00:00:02',
        deviceNumber: 2,
        interfaceId: 'eni-0b',
        subnetId: 'subnet-0a',
        subnetCidr: '10.0.0.0/20',
        vpcCidrs: ['10.0.0.0/16'],
        localIpv4s: ['10.0.0.20'],
        ipv4Prefixes: ['10.0.1.0/28'],
      },
    ],
  },
  'test',
);

const pod = (ip: string, name?: string, networkName = 'aws-cni', containerId = 'c1') => ({
  ip,
  owner: { networkName, containerId },
  metadata: name === undefined ? {} : { k8sPodNamespace: 'default', k8sPodName: name },
});

test('each record becomes its host veth and the table of the ENI holding the address', (t) => {
  const { pods, skipped } = podAssignments(
    [pod('10.0.0.5', 'a'), pod('10.0.1.3', 'b'), pod('10.0.2.9', '_recovered', '_recovered', 'route:eni123')],
    facts,
    'eni',
  );
  t.deepEqual(pods, [
    { ip: '10.0.0.5', hostVeth: hostVethName('eni', 'default', 'a'), eniTable: 254 },
    // A prefix-delegated address of the ENI at device 2: table 3.
    { ip: '10.0.1.3', hostVeth: hostVethName('eni', 'default', 'b'), eniTable: 3 },
  ]);
  t.deepEqual(skipped, [{ ip: '10.0.2.9', reason: 'no ENI of the node holds it (IMDS may not show it yet)' }]);
});

test('an owner without pod names has the veth the reference plugin named from empty CNI_ARGS names', (t) => {
  const { pods, skipped } = podAssignments(
    [
      pod('10.0.0.5'),
      { ip: '10.0.1.4', owner: { networkName: 'aws-cni', containerId: 'c2' }, metadata: { k8sPodNamespace: 'ops' } },
      pod('10.0.1.5', undefined, '_recovered', 'route:eni0a1b2c3d4e5'),
      pod('10.0.0.20', 'x'),
    ],
    facts,
    'eni',
  );
  t.deepEqual(pods, [
    // sha1(".") and sha1("ops."): what aws-cni names a pod whose CNI_ARGS lack K8S_POD_NAMESPACE / K8S_POD_NAME.
    { ip: '10.0.0.5', hostVeth: 'eni3a52ce78095', eniTable: 254 },
    { ip: '10.0.1.4', hostVeth: hostVethName('eni', 'ops', ''), eniTable: 3 },
    { ip: '10.0.1.5', hostVeth: 'eni0a1b2c3d4e5', eniTable: 3 },
  ]);
  // An ENI's own primary address is never a pod's.
  t.is(skipped.length, 1);
  t.regex(skipped[0]!.reason, /no ENI of the node holds it/);
});

test("IPAM's ENI decides the table: an address IMDS does not list yet keeps its pod in the plan", (t) => {
  const fresh = { ...pod('10.0.0.30', 'fresh'), eniId: 'eni-0b' };
  const { pods, skipped } = podAssignments([fresh], facts, 'eni');
  t.deepEqual(skipped, []);
  t.deepEqual(pods, [{ ip: '10.0.0.30', hostVeth: hostVethName('eni', 'default', 'fresh'), eniTable: 3 }]);
  // Without IPAM's ENI (a checkpoint read by plan) the same address is unknown to the node facts, so it is left out.
  t.regex(podAssignments([pod('10.0.0.30', 'fresh')], facts, 'eni').skipped[0]!.reason, /IMDS may not show it yet/);
  // An ENI the node does not carry yet (its link not hot-plugged) leaves the pod out, saying which ENI.
  t.regex(
    podAssignments([{ ...pod('10.0.0.31', 'early'), eniId: 'eni-0c' }], facts, 'eni').skipped[0]!.reason,
    /its ENI eni-0c is not on the node yet/,
  );
});
