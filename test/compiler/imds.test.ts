/** Parsing of IMDS replies into node facts (pure; the wire protocol is tested against the simulator in imds.sim). */
import test from 'ava';
import { NodeFactsError } from '../../src/compiler/facts.ts';
import { DEFAULT_IMDS_ENDPOINT, imdsEndpoint, nodeFactsFromImds } from '../../src/ipam/cloud/imds.ts';

const macs = 'network/interfaces/macs/';
const replies = {
  mac: '0a:58:c3:00:10:01',
  'local-ipv4': '10.10.40.5',
  'instance-id': 'i-0f9e8d7c6b5a40312',
  'instance-type': 'm5.xlarge',
  'placement/availability-zone': 'eu-west-1b',
  'placement/region': 'eu-west-1',
  [macs]: '0a:58:c3:00:10:02/\n0a:58:c3:00:10:01/',
  [`${macs}0a:58:c3:00:10:01/device-number`]: '0',
  [`${macs}0a:58:c3:00:10:01/interface-id`]: 'eni-0f9e8d7c6b5a40001',
  [`${macs}0a:58:c3:00:10:01/subnet-id`]: 'subnet-0f9e8d7c6b5a4b001',
  [`${macs}0a:58:c3:00:10:01/subnet-ipv4-cidr-block`]: '10.10.32.0/19',
  [`${macs}0a:58:c3:00:10:01/vpc-ipv4-cidr-blocks`]: '10.10.0.0/16\n100.64.0.0/16',
  [`${macs}0a:58:c3:00:10:01/local-ipv4s`]: '10.10.40.5\n10.10.41.17\n',
  [`${macs}0a:58:c3:00:10:02/device-number`]: '1',
  [`${macs}0a:58:c3:00:10:02/network-card`]: '0',
  [`${macs}0a:58:c3:00:10:02/interface-id`]: 'eni-0f9e8d7c6b5a40002',
  [`${macs}0a:58:c3:00:10:02/subnet-id`]: 'subnet-0f9e8d7c6b5a4b002',
  [`${macs}0a:58:c3:00:10:02/subnet-ipv4-cidr-block`]: '100.64.0.0/18',
  [`${macs}0a:58:c3:00:10:02/vpc-ipv4-cidr-blocks`]: '10.10.0.0/16\n100.64.0.0/16',
  [`${macs}0a:58:c3:00:10:02/local-ipv4s`]: '100.64.12.10',
  [`${macs}0a:58:c3:00:10:02/ipv4-prefix`]: '100.64.20.16/28',
  [`${macs}0a:58:c3:00:10:02/ipv6s`]: '2600:1f18:4c2:8a00::10',
  [`${macs}0a:58:c3:00:10:02/subnet-ipv6-cidr-blocks`]: '2600:1f18:4c2:8a00::/64',
};

test('IMDS replies become node facts: lists split by line, absent keys defaulted', (t) => {
  const facts = nodeFactsFromImds(replies, 'test');
  t.is(facts.primaryMac, '0a:58:c3:00:10:01');
  t.is(facts.enis.length, 2);
  const [second, primary] = facts.enis;
  t.deepEqual(primary!.vpcCidrs, ['10.10.0.0/16', '100.64.0.0/16']);
  t.deepEqual(primary!.localIpv4s, ['10.10.40.5', '10.10.41.17']);
  t.is(primary!.networkCard, 0, 'network-card is absent on single-card instances');
  t.deepEqual(primary!.ipv6s, []);
  t.is(second!.deviceNumber, 1);
  t.deepEqual(second!.ipv4Prefixes, ['100.64.20.16/28']);
  t.deepEqual(second!.ipv6s, ['2600:1f18:4c2:8a00::10']);
  t.is(second!.interfaceName, undefined, 'names come from the kernel, not IMDS');
});

test('a malformed IMDS reply names the field and the source', (t) => {
  const bad = { ...replies, [`${macs}0a:58:c3:00:10:02/device-number`]: 'one' };
  const error = t.throws(() => nodeFactsFromImds(bad, 'IMDS at http://169.254.169.254'), {
    instanceOf: NodeFactsError,
  });
  t.regex(error.message, /IMDS at http:\/\/169\.254\.169\.254/);
  t.regex(error.message, /enis\[0\]\.deviceNumber/);
});

test('the endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT, else the link-local default', (t) => {
  t.is(imdsEndpoint({}), DEFAULT_IMDS_ENDPOINT);
  t.is(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: ' ' }), DEFAULT_IMDS_ENDPOINT);
  t.is(imdsEndpoint({ AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:1338' }), 'http://127.0.0.1:1338');
});
