import { readFile } from 'node:fs/promises';
import test from 'ava';
import {
  iptablesModeFromVersion,
  NodeFactsError,
  nodeFactsJsonSchema,
  parseNodeFacts,
} from '../../src/compiler/facts.ts';
import { exampleNode, NODES } from './fixtures.ts';

test('schema/node.schema.json is the JSON Schema of the NodeFacts zod schema', async (t) => {
  const file = JSON.parse(await readFile(new URL('../../schema/node.schema.json', import.meta.url), 'utf8'));
  t.deepEqual(file, nodeFactsJsonSchema(), 'stale: run node scripts/render-examples.ts');
});

test('every example snapshot is valid', (t) => {
  for (const node of NODES) t.is(exampleNode(node).version, 1);
});

test('defaults: networkCard 0, empty prefix lists, iptables mode nf_tables', (t) => {
  const facts = parseNodeFacts(
    {
      version: 1,
      instanceId: 'i-0abc',
      instanceType: 't3.small',
      availabilityZone: 'us-west-2a',
      region: 'us-west-2',
      primaryMac: '0a:00:00:00:00:01',
      localIpv4: '10.0.0.5',
      enis: [
        {
          mac: '0a:00:00:00:00:01',
          deviceNumber: 0,
          interfaceId: 'eni-0abc',
          subnetId: 'subnet-0abc',
          subnetCidr: '10.0.0.0/24',
          vpcCidrs: ['10.0.0.0/16'],
          localIpv4s: ['10.0.0.5'],
        },
      ],
    },
    'test',
  );
  t.is(facts.iptablesMode, 'nf_tables');
  t.is(facts.enis[0]!.networkCard, 0);
  t.deepEqual(facts.enis[0]!.ipv4Prefixes, []);
});

test('a bad snapshot is refused with every problem and its path', (t) => {
  const good = exampleNode('three-eni-two-cidrs');
  const bad = {
    ...good,
    primaryMac: '0a:58:c3:00:99:99',
    enis: [
      { ...good.enis[0]!, subnetCidr: '10.10.32.7/19' },
      { ...good.enis[1]!, deviceNumber: 0 },
    ],
  };
  const error = t.throws(() => parseNodeFacts(bad, 'node.json'), { instanceOf: NodeFactsError });
  t.regex(error.message, /from node\.json/);
  t.regex(error.message, /enis\[0\]\.subnetCidr/);
  t.regex(error.message, /no ENI has the primary MAC 0a:58:c3:00:99:99/);
  t.regex(error.message, /two ENIs on network card\/device 0\/0/);
});

test('iptables mode follows the reference: "legacy" in the version output, else nf_tables', (t) => {
  t.is(iptablesModeFromVersion('iptables v1.8.9 (legacy)'), 'legacy');
  t.is(iptablesModeFromVersion('iptables v1.8.9 (nf_tables)'), 'nf_tables');
  t.is(iptablesModeFromVersion('iptables v1.6.1'), 'nf_tables');
});
