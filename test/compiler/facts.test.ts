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
  const fields = { ...good, enis: [{ ...good.enis[0]!, subnetCidr: '10.10.32.7/19' }, good.enis[1]!] };
  const error = t.throws(() => parseNodeFacts(fields, 'node.json'), { instanceOf: NodeFactsError });
  t.regex(error.message, /from node\.json/);
  t.regex(
    error.message,
    /enis\[0\]\.subnetCidr = "10\.10\.32\.7\/19": must be a subnet CIDR block: a network address without host bits/,
  );
  const across = {
    ...good,
    primaryMac: '0a:58:c3:00:99:99',
    enis: [good.enis[0]!, { ...good.enis[1]!, deviceNumber: 0 }],
  };
  const second = t.throws(() => parseNodeFacts(across, 'node.json'), { instanceOf: NodeFactsError });
  t.regex(second.message, /primaryMac = "0a:58:c3:00:99:99": is the MAC of no ENI/);
  t.regex(second.message, /enis\[1\]\.deviceNumber = 0: is taken on network card 0 by an earlier ENI/);
});

/** A snapshot no instance can show is refused, and the message names the field, its value and why. */
const unreal = test.macro((t, edit: (facts: Record<string, any>) => void, expected: RegExp) => {
  const facts = structuredClone(exampleNode('three-eni-two-cidrs')) as Record<string, any>;
  edit(facts);
  const error = t.throws(() => parseNodeFacts(facts, 'node.json'), { instanceOf: NodeFactsError });
  t.regex(error.message, expected);
  t.notRegex(error.message, /✖|→ at |Invalid input/, 'no raw zod text');
  t.true(error.message.length < 1200, 'bounded');
});

test(
  'an address outside its subnet',
  unreal,
  (f) => {
    f.enis[1].localIpv4s[2] = '100.64.64.9';
  },
  /enis\[1\]\.localIpv4s\[2\] = "100\.64\.64\.9": is outside the ENI's subnet 100\.64\.0\.0\/18/,
);
test(
  'an address EC2 reserves (the subnet router)',
  unreal,
  (f) => {
    f.enis[2].localIpv4s[1] = '100.64.64.1';
  },
  /enis\[2\]\.localIpv4s\[1\] = "100\.64\.64\.1": is an address EC2 reserves/,
);
test(
  'a delegated prefix outside its subnet',
  unreal,
  (f) => {
    f.enis[1].ipv4Prefixes = ['100.64.200.0/28'];
  },
  /enis\[1\]\.ipv4Prefixes\[0\] = "100\.64\.200\.0\/28": is outside the ENI's subnet 100\.64\.0\.0\/18/,
);
test(
  'overlapping subnets of different ids',
  unreal,
  (f) => {
    f.enis[2].subnetCidr = '100.64.0.0/17';
    f.enis[2].localIpv4s = ['100.64.70.4'];
  },
  /enis\[2\]\.subnetCidr = "100\.64\.0\.0\/17": overlaps 100\.64\.0\.0\/18 \(subnet-0f9e8d7c6b5a4b002\) at enis\[1\]/,
);
test(
  'one subnet id with two CIDRs',
  unreal,
  (f) => {
    f.enis[2].subnetId = f.enis[1].subnetId;
  },
  /enis\[2\]\.subnetCidr = "100\.64\.64\.0\/18": is not the CIDR of subnet-0f9e8d7c6b5a4b002 at enis\[1\], 100\.64\.0\.0\/18/,
);
test(
  'a subnet in none of the VPC blocks',
  unreal,
  (f) => {
    f.enis[0].vpcCidrs = ['172.16.0.0/16'];
  },
  /enis\[0\]\.subnetCidr = "10\.10\.32\.0\/19": is in none of the ENI's VPC CIDR blocks 172\.16\.0\.0\/16/,
);
test(
  'overlapping VPC blocks',
  unreal,
  (f) => {
    f.enis[0].vpcCidrs = ['10.10.0.0/16', '10.10.32.0/20'];
  },
  /enis\[0\]\.vpcCidrs\[1\] = "10\.10\.32\.0\/20": overlaps the VPC's block 10\.10\.0\.0\/16/,
);
test(
  'one address on two ENIs',
  unreal,
  (f) => {
    f.enis[2].subnetId = f.enis[1].subnetId;
    f.enis[2].subnetCidr = f.enis[1].subnetCidr;
    f.enis[2].localIpv4s = ['100.64.12.20', '100.64.12.11'];
  },
  /enis\[2\]\.localIpv4s\[1\] = "100\.64\.12\.11": is also held at enis\[1\]\.localIpv4s\[1\]/,
);
test(
  'one address twice on one ENI',
  unreal,
  (f) => {
    f.enis[0].localIpv4s.push('10.10.41.17');
  },
  /enis\[0\]\.localIpv4s\[3\] = "10\.10\.41\.17": is also held at enis\[0\]\.localIpv4s\[1\]/,
);
test(
  'an address inside a delegated prefix',
  unreal,
  (f) => {
    f.enis[1].ipv4Prefixes = ['100.64.12.0/28'];
  },
  /enis\[1\]\.localIpv4s\[0\] = "100\.64\.12\.10": is also held at enis\[1\]\.ipv4Prefixes\[0\] \(100\.64\.12\.0\/28\)/,
);
test(
  'a device number of 4294967295',
  unreal,
  (f) => {
    f.enis[1].deviceNumber = 4294967295;
  },
  /enis\[1\]\.deviceNumber = 4294967295: must be at most 99/,
);
test(
  'a network card past 31',
  unreal,
  (f) => {
    f.enis[1].networkCard = 32;
  },
  /enis\[1\]\.networkCard = 32: must be at most 31/,
);
test(
  'a VPC CIDR of 0.0.0.0/0',
  unreal,
  (f) => {
    f.enis[0].vpcCidrs = ['0.0.0.0/0'];
  },
  /enis\[0\]\.vpcCidrs\[0\] = "0\.0\.0\.0\/0": must be a VPC CIDR block with a prefix length from \/16 to \/28/,
);
test(
  'a non-canonical dotted quad',
  unreal,
  (f) => {
    f.localIpv4 = '010.010.040.005';
    f.enis[0].localIpv4s[0] = '010.010.040.005';
  },
  /localIpv4 = "010\.010\.040\.005": must be an IPv4 address such as 10\.0\.1\.5 \(octets 0–255, no leading zeros\)/,
);
test(
  'an IPv6 address outside the IPv6 subnets',
  unreal,
  (f) => {
    f.enis[0].subnetIpv6Cidrs = ['2600:1f18:4c2:8a00::/64'];
    f.enis[0].ipv6s = ['2600:1f18:4c2:8a01::1'];
  },
  /enis\[0\]\.ipv6s\[0\] = "2600:1f18:4c2:8a01::1": is outside the ENI's IPv6 subnets/,
);
test(
  'a wrong type names the field, not zod',
  unreal,
  (f) => {
    f.instanceId = 5;
  },
  /instanceId = 5: must be a string/,
);
test(
  'a missing field is named',
  unreal,
  (f) => {
    delete f.enis[0].mac;
  },
  /enis\[0\]\.mac is required/,
);
test(
  'an unknown field is named',
  unreal,
  (f) => {
    f.enis[0].__proto__x = 1;
  },
  /enis\[0\]: has unknown field "__proto__x"/,
);
test(
  'a 2 MB value is echoed short',
  unreal,
  (f) => {
    f.region = 'x'.repeat(2_000_000);
  },
  /region = "x{60,64}… \(2000002 chars\): must be a region such as us-west-2/,
);
test(
  'a hostile interface name',
  unreal,
  (f) => {
    f.enis[0].interfaceName = 'eth0\nnetns exec x sh';
  },
  /enis\[0\]\.interfaceName = "eth0\\nnetns exec x sh": must be a Linux interface name/,
);

test('iptables mode follows the reference: "legacy" in the version output, else nf_tables', (t) => {
  t.is(iptablesModeFromVersion('iptables v1.8.9 (legacy)'), 'legacy');
  t.is(iptablesModeFromVersion('iptables v1.8.9 (nf_tables)'), 'nf_tables');
  t.is(iptablesModeFromVersion('iptables v1.6.1'), 'nf_tables');
});
