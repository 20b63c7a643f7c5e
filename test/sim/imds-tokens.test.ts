/** The IMDS simulator's session tokens (no server): TTL grammar, expiry and the bound on how many are kept. */
import test from 'ava';
import fc from 'fast-check';
import { MAX_TOKENS, MAX_TTL_SECONDS, parseTtl, TokenStore } from '../../src/sim/imds/tokens.ts';

test('a TTL is a plain decimal integer from 1 to 21600', (t) => {
  t.is(parseTtl('1'), 1);
  t.is(parseTtl('60'), 60);
  t.is(parseTtl(String(MAX_TTL_SECONDS)), MAX_TTL_SECONDS);
  for (const bad of ['', '0', '21601', '1.0', '0x10', '1e3', ' 60', '60 ', '060', '-5', '+5', '60, 60', '９']) {
    t.is(parseTtl(bad), undefined, JSON.stringify(bad));
  }
  t.is(parseTtl(undefined), undefined);
  t.is(parseTtl(['60', '60']), undefined);
});

test('property: a TTL is accepted only as its own canonical decimal, within range', (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.integer().map(String), fc.double().map(String)), (header) => {
      const ttl = parseTtl(header);
      return ttl === undefined || (String(ttl) === header && ttl >= 1 && ttl <= MAX_TTL_SECONDS);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('a token is valid until its TTL has passed, then refused and forgotten', (t) => {
  let now = 1_000_000;
  const store = new TokenStore(() => now);
  const token = store.issue(60);
  t.true(store.valid(token));
  now += 59_999;
  t.true(store.valid(token));
  now += 1;
  t.false(store.valid(token));
  t.is(store.size, 0, 'an expired token is dropped when presented');
  t.false(store.valid('forged'));
  t.false(store.valid(undefined));
});

test('expired tokens are dropped when new ones are issued, even if never presented again', (t) => {
  let now = 0;
  const store = new TokenStore(() => now);
  for (let i = 0; i < 100; i += 1) store.issue(1);
  t.is(store.size, 100);
  now += 1000;
  store.issue(60);
  t.is(store.size, 1);
});

test('at most MAX_TOKENS live tokens are kept: the oldest gives way', (t) => {
  const store = new TokenStore(() => 0);
  const first = store.issue(MAX_TTL_SECONDS);
  const second = store.issue(MAX_TTL_SECONDS);
  for (let i = 0; i < 5 * MAX_TOKENS; i += 1) store.issue(MAX_TTL_SECONDS);
  t.is(store.size, MAX_TOKENS);
  t.false(store.valid(first));
  t.false(store.valid(second));
  t.true(store.valid(store.issue(MAX_TTL_SECONDS)));
});
