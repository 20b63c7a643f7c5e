import test from 'ava';
import raw from '../../src/data/instance-limits.json' with { type: 'json' };
import { instanceTypeLimits } from '../../src/data/instance-limits.ts';
import { InstanceLimitsSchema, prefixDelegationSupported } from '../../src/lib/instance-limits.ts';

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

test('every row of the bundled table is a valid InstanceLimits (rows are parsed only when looked up)', (t) => {
  for (const [type, row] of Object.entries(raw)) t.true(InstanceLimitsSchema.safeParse(row).success, type);
  t.true(Object.keys(raw).length > 1000);
});
