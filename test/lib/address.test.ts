import test from 'ava';
import {
  formatIpv4,
  ipv4CidrAddresses,
  ipv4InCidr,
  isIpv6,
  isIpv6Cidr,
  normaliseIpv4Cidr,
  parseIpv4,
  parseIpv4Network,
  prefixLength,
} from '../../src/lib/address.ts';

test('IPv4 parsing is strict: four decimal octets, no leading zeros, nothing around them', (t) => {
  t.is(parseIpv4('10.0.1.5'), (10 << 24) + 261);
  t.is(formatIpv4(parseIpv4('255.255.255.255')!), '255.255.255.255');
  for (const bad of ['010.1.2.3', '1.2.3', '0x1.2.3.4', '256.1.1.1', ' 1.2.3.4', '1.2.3.4/32', '', '1.2.3.4.5']) {
    t.is(parseIpv4(bad), undefined, bad);
  }
});

test('IPv6 is recognised by parsing, not by a colon', (t) => {
  t.true(isIpv6('2600:1f14::5'));
  t.false(isIpv6('zz::'));
  t.false(isIpv6('fe80::1%eth0'));
  t.true(isIpv6Cidr('2600:1f14:1:2::/64'));
  t.false(isIpv6Cidr('zz::/200'));
  t.false(isIpv6Cidr('2600::/129'));
  t.false(isIpv6Cidr('2600::/064'));
});

test('CIDRs: normalised like Go, networks refuse host bits, containment, prefix lengths', (t) => {
  t.is(normaliseIpv4Cidr('10.0.1.7/16'), '10.0.0.0/16');
  t.is(normaliseIpv4Cidr('10.0.0.0/33'), undefined);
  t.is(normaliseIpv4Cidr('10.0.0.0/08'), undefined);
  t.deepEqual(parseIpv4Network('10.0.32.0/19'), { base: parseIpv4('10.0.32.0')!, bits: 19 });
  t.is(parseIpv4Network('10.0.1.7/16'), undefined);
  t.true(ipv4InCidr('10.0.63.255', '10.0.32.0/19'));
  t.false(ipv4InCidr('10.0.64.0', '10.0.32.0/19'));
  t.false(ipv4InCidr('010.0.32.1', '10.0.32.0/19'));
  t.is(prefixLength('2600:1f14::/64'), 64);
  t.is(prefixLength('10.0.0.0/40'), undefined);
  t.deepEqual(ipv4CidrAddresses('10.0.0.16/30'), ['10.0.0.16', '10.0.0.17', '10.0.0.18', '10.0.0.19']);
  t.throws(() => ipv4CidrAddresses('10.0.0.0/16'), { message: /not an IPv4 CIDR of \/24 or longer: 10.0.0.0\/16/ });
});
