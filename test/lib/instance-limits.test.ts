import test from 'ava';
import { instanceTypeLimits } from '../../src/data/instance-limits.ts';
import { prefixDelegationSupported } from '../../src/lib/instance-limits.ts';

test('prefix delegation needs Nitro or bare metal, by the bundled table', (t) => {
  const rows = [
    { type: 'm5.large', hypervisor: 'nitro', supported: true },
    { type: 'm5.metal', hypervisor: 'unknown', supported: true },
    { type: 't2.medium', hypervisor: 'xen', supported: false },
    { type: 'm4.large', hypervisor: 'xen', supported: false },
  ];
  for (const row of rows) {
    const limits = instanceTypeLimits(row.type);
    t.is(limits?.hypervisorType, row.hypervisor, row.type);
    t.is(limits && prefixDelegationSupported(limits), row.supported, row.type);
  }
});

test('a type the table does not carry is a miss, not an error', (t) => {
  t.is(instanceTypeLimits('zz9.plural'), undefined);
  t.is(instanceTypeLimits('__proto__'), undefined);
  t.is(instanceTypeLimits('constructor'), undefined);
});
