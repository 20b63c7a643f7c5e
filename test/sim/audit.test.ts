import test from 'ava';
import { AuditLog } from '../../src/sim/audit.ts';

const call = (action: string) =>
  ({ service: 'ec2', action, params: {}, outcome: 'ok', status: 200, durationMs: 1 }) as const;

test('the audit keeps at most its capacity (plus a trim slice), the newest entries, with sequence numbers intact', (t) => {
  const audit = new AuditLog(8);
  for (let i = 1; i <= 50; i++) audit.record(call(`A${i}`));
  const kept = audit.entries();
  t.true(kept.length >= 8 && kept.length <= 10, `${kept.length} kept`);
  t.is(kept.at(-1)?.action, 'A50');
  t.is(kept.at(-1)?.seq, 50);
  t.is(audit.mark(), 50);
  t.is(audit.dropped, 50 - kept.length);
  // A mark taken before the trim still selects exactly what followed it.
  const mark = audit.mark();
  audit.record(call('B'));
  t.deepEqual(
    audit.entries({ since: mark }).map((e) => e.action),
    ['B'],
  );
  t.throws(() => new AuditLog(0), { instanceOf: RangeError });
});
