import test from 'ava';
import fc from 'fast-check';
import { TokenBucket } from '../../src/lib/token-bucket.ts';

test('a full bucket gives its burst, then one token per 1/rate seconds', (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 5, burst: 2 }, 0);
  const rows = [
    { now: 0, take: true },
    { now: 0, take: true },
    { now: 0, take: false },
    { now: 199, take: false },
    { now: 200, take: true },
    { now: 200, take: false },
  ];
  for (const row of rows) t.is(bucket.take(row.now), row.take, `at ${row.now} ms`);
});

test('waitMs names the whole milliseconds until the next token', (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 3, burst: 1 }, 0);
  t.is(bucket.waitMs(0), 0);
  t.true(bucket.take(0));
  t.is(bucket.waitMs(0), 334);
  t.is(bucket.waitMs(300), 34);
  t.false(bucket.take(333));
  t.true(bucket.take(334));
});

test('a quiet period refills to the burst and no further', (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 10, burst: 3 }, 0);
  const taken = Array.from({ length: 5 }, () => bucket.take(60_000)).filter(Boolean).length;
  t.is(taken, 3);
});

test('a clock that steps back neither refills nor drains the bucket', (t) => {
  const bucket = new TokenBucket({ ratePerSecond: 1, burst: 1 }, 10_000);
  t.true(bucket.take(10_000));
  t.false(bucket.take(5_000));
  t.is(bucket.waitMs(5_000), 1000);
  t.true(bucket.take(11_000));
});

test('a bucket without a rate or burst is refused, naming both', (t) => {
  const rows = [
    { spec: { ratePerSecond: 0, burst: 1 } },
    { spec: { ratePerSecond: Number.NaN, burst: 1 } },
    { spec: { ratePerSecond: 1, burst: 0.5 } },
  ];
  for (const { spec } of rows) {
    t.throws(() => new TokenBucket(spec, 0), { instanceOf: RangeError, message: /rate > 0 and burst ≥ 1/ });
  }
});

test('property: over any schedule, tokens taken never exceed burst + rate × elapsed', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 100 }),
      fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 200 }),
      (rate, burst, gaps) => {
        const bucket = new TokenBucket({ ratePerSecond: rate, burst }, 0);
        let now = 0;
        let taken = 0;
        for (const gap of gaps) {
          now += gap;
          if (bucket.take(now)) taken++;
          else if (bucket.waitMs(now) < 1) return false;
        }
        return taken <= burst + Math.floor((rate * now) / 1000);
      },
    ),
  );
  t.pass();
});
