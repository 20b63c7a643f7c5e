/** What the SNAT and connmark rules mean, asserted by tracing packets through the planned rules (tracer.ts). */
import test from 'ava';
import { compileHostPlan } from '../../src/compiler/compile.ts';
import type { NodeFacts } from '../../src/compiler/facts.ts';
import { exampleNode, ipv4Config } from './fixtures.ts';
import { type Packet, trace } from './tracer.ts';

const three = exampleNode('three-eni-two-cidrs');
const legacy: NodeFacts = { ...three, iptablesMode: 'legacy' };
const pods = [
  { ip: '10.10.41.17', hostVeth: 'eni1a2b3c4d5e6' },
  { ip: '100.64.12.11', hostVeth: 'eni6f5e4d3c2b1', eniTable: 2 },
];
const primaryPod = (dst: string): Packet => ({ src: '10.10.41.17', dst, iif: 'eni1a2b3c4d5e6' });
const secondaryPod = (dst: string): Packet => ({ src: '100.64.12.11', dst, iif: 'eni6f5e4d3c2b1' });

for (const [backend, facts] of [
  ['nft', three],
  ['legacy', legacy],
] as const) {
  const plan = compileHostPlan(ipv4Config({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '172.16.0.0/12' }), facts, pods);

  test(`${backend}: pod → VPC CIDR is not SNATed and keeps its ENI`, (t) => {
    const result = trace(plan, secondaryPod('10.10.50.9'));
    t.is(result.nat, 'no SNAT', result.steps.join('\n'));
    t.is(result.connmark, 0);
    t.is(result.table, 2);
    t.is(result.oif, 'eth1');
  });

  test(`${backend}: pod on a secondary ENI → internet is marked, routed via main and SNATed to the primary IP`, (t) => {
    const result = trace(plan, secondaryPod('93.184.216.34'));
    t.is(result.connmark, 0x80);
    t.is(result.fwmark, 0x80);
    t.is(result.table, 254);
    t.is(result.oif, 'eth0');
    t.is(result.nat, 'SNAT to 10.10.40.5', result.steps.join('\n'));
  });

  test(`${backend}: pod on the primary ENI → internet is SNATed`, (t) => {
    t.is(trace(plan, primaryPod('1.1.1.1')).nat, 'SNAT to 10.10.40.5');
  });

  test(`${backend}: an exclusion CIDR is exempt from SNAT and from marking`, (t) => {
    const result = trace(plan, secondaryPod('172.20.1.1'));
    t.is(result.nat, 'no SNAT');
    t.is(result.connmark, 0);
    t.is(result.table, 2);
  });
}

test('a 0.0.0.0/0 exclusion disables SNAT and marking for every destination', (t) => {
  const plan = compileHostPlan(ipv4Config({ AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '0.0.0.0/0' }), three, pods);
  for (const dst of ['1.1.1.1', '10.10.50.9', '172.20.1.1']) {
    const result = trace(plan, secondaryPod(dst));
    t.is(result.nat, 'no SNAT', dst);
    t.is(result.connmark, 0, dst);
  }
});

test('external SNAT: nothing is SNATed or marked on the node', (t) => {
  const plan = compileHostPlan(ipv4Config({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' }), three, pods);
  const result = trace(plan, secondaryPod('93.184.216.34'));
  t.is(result.nat, 'no SNAT');
  t.is(result.connmark, 0);
  t.is(result.table, 2);
});

test('NodePort traffic arriving on the primary ENI is connmarked; the pod reply follows the mark to main', (t) => {
  const plan = compileHostPlan(ipv4Config(), three, pods);
  const inbound = trace(plan, { src: '203.0.113.5', dst: '10.10.40.5', iif: 'eth0', dstLocal: true });
  t.is(inbound.connmark, 0x80);
  t.is(inbound.nat, 'no SNAT');
  const noNodePort = compileHostPlan(ipv4Config({ AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' }), three, pods);
  t.is(trace(noNodePort, { src: '203.0.113.5', dst: '10.10.40.5', iif: 'eth0', dstLocal: true }).connmark, 0);
});

test('traffic to a local address is neither marked nor SNATed', (t) => {
  const plan = compileHostPlan(ipv4Config(), three, pods);
  const result = trace(plan, { ...secondaryPod('10.10.40.5'), dstLocal: true });
  t.is(result.connmark, 0);
  t.is(result.nat, 'no SNAT');
});

test('a custom mark is used throughout', (t) => {
  const plan = compileHostPlan(ipv4Config({ AWS_VPC_K8S_CNI_CONNMARK: '0x4000' }), legacy, pods);
  const result = trace(plan, secondaryPod('93.184.216.34'));
  t.is(result.fwmark, 0x4000);
  t.is(result.table, 254);
});
