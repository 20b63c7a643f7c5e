/** The simulated node's address choices (pure): gateway, the VPC peer outside every subnet, the internet peer. */
import test from 'ava';
import { internetPeerAddress, prefixLength, subnetGateway, vpcPeerAddress } from '../../src/sim/node/layout.ts';

test('the subnet gateway is the network address + 1, host bits ignored', (t) => {
  const rows = [
    { cidr: '10.0.32.0/19', gateway: '10.0.32.1', length: 19 },
    { cidr: '10.0.33.7/19', gateway: '10.0.32.1', length: 19 },
    { cidr: '192.168.0.0/28', gateway: '192.168.0.1', length: 28 },
  ];
  for (const row of rows) {
    t.is(subnetGateway(row.cidr), row.gateway, row.cidr);
    t.is(prefixLength(row.cidr), row.length, row.cidr);
  }
});

test('the VPC peer is the highest VPC address outside every subnet, else the DNS resolver', (t) => {
  const rows = [
    { vpc: ['10.0.0.0/16'], subnets: ['10.0.0.0/24'], peer: '10.0.255.254' },
    { vpc: ['10.0.0.0/16'], subnets: ['10.0.128.0/17'], peer: '10.0.127.255' },
    { vpc: ['10.0.0.0/16'], subnets: ['10.0.128.0/17', '10.0.0.0/17'], peer: '10.0.0.2' },
    { vpc: ['10.0.0.0/24', '100.64.0.0/16'], subnets: ['10.0.0.0/24'], peer: '100.64.255.254' },
  ];
  for (const row of rows) t.is(vpcPeerAddress(row.vpc, row.subnets), row.peer, JSON.stringify(row));
});

test('the internet peer is an RFC 5737 address outside the VPC, and a VPC covering all three is refused', (t) => {
  t.is(internetPeerAddress(['10.0.0.0/16']), '203.0.113.10');
  t.is(internetPeerAddress(['203.0.113.0/24']), '198.51.100.10');
  t.throws(() => internetPeerAddress(['192.0.0.0/8', '198.0.0.0/8', '203.0.0.0/8']), { message: /cover RFC 5737/ });
});

test('a CIDR the model could not hold is a simulator error naming it', (t) => {
  t.throws(() => subnetGateway('10.0.0/16'), { message: /not an IPv4 CIDR: 10\.0\.0\/16/ });
});
