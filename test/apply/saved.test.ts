import test from 'ava';
import fc from 'fast-check';
import { type ChangeSet, diff } from '../../src/apply/diff.ts';
import { emptyLiveState, type LiveState } from '../../src/apply/live.ts';
import { renderPayloads } from '../../src/apply/payloads.ts';
import { parseSavedPlan, savePlan } from '../../src/apply/saved.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { RenderError } from '../../src/compiler/render/index.ts';
import { handPlan } from './fixtures.ts';

const addAll = (plan: HostPlan): ChangeSet =>
  [
    ...plan.links,
    ...plan.sysctls,
    ...plan.addresses,
    ...plan.routes,
    ...plan.rules,
    ...plan.iptablesChains,
    ...plan.iptablesRules,
    ...plan.nftTables,
  ].map((object) => ({ kind: 'add' as const, object, reason: 'missing' }));

/** A saved plan edited at one JSON path (as a tampering operator would) and serialised again. */
function tampered(edit: (plan: Record<string, any>) => void): string {
  const saved = JSON.parse(savePlan(handPlan(), addAll(handPlan()), 'ns1'));
  edit(saved);
  return JSON.stringify(saved);
}

test('a saved plan round-trips through the schema unchanged', (t) => {
  const text = savePlan(handPlan(), addAll(handPlan()), 'ns1');
  t.deepEqual(parseSavedPlan(text, 'f').plan, handPlan());
});

const TAMPERS: readonly [string, (s: Record<string, any>) => void][] = [
  ['a newline in a route field', (s) => (s.plan.routes[0].dev = 'eth1\nnetns exec x touch /tmp/pwned')],
  ['../ in a sysctl key', (s) => (s.plan.sysctls[0].path = 'net/ipv4/conf/../../../../etc/x/rp_filter')],
  ['a sysctl key the compiler never writes', (s) => (s.plan.sysctls[0].path = 'kernel/core_pattern')],
  ['an injected nft table', (s) => (s.plan.nftTables[0].chains[0].rules[0] = 'return; }\n}\ntable ip evil {')],
  ['an nft table name with a space', (s) => (s.plan.nftTables[0].name = 'aws-cni extra')],
  ['an address that is not one', (s) => (s.plan.addresses[0].cidr = '010.010.040.005/24')],
  ['a route table out of range', (s) => (s.plan.routes[0].table = 2 ** 40)],
  ['an unknown field', (s) => (s.plan.routes[0].command = 'x')],
  ['a chain name with a newline', (s) => (s.plan.iptablesRules[0].chain = 'POSTROUTING\n-F')],
  ['an iptables token with a newline', (s) => (s.plan.iptablesRules[0].args[0] = 'x\nCOMMIT\n*filter\n-F')],
  ['an interface name of 16 characters', (s) => (s.plan.links[0].name = 'abcdefghijklmnop')],
  ['a tampered change object', (s) => (s.changes[0].object.name = 'eth0/..')],
];

for (const [what, edit] of TAMPERS) {
  test(`a saved plan with ${what} is refused naming the field`, (t) => {
    const error = t.throws(() => parseSavedPlan(tampered(edit), 'plan.json'));
    t.regex(error.message, /^plan\.json: not a valid saved plan; nothing was applied:\n {2}\S/);
  });
}

test('a plan that deletes what the kernel added to (a route protocol, unmodelled attributes) saves and reads back', (t) => {
  const plan = handPlan();
  const because = 'live';
  const live: LiveState = {
    ...emptyLiveState,
    // A pod route whose pod left the checkpoint, a route in an ENI table with a metric, a rule with a selector.
    routes: [
      {
        kind: 'route',
        family: 'inet',
        table: 254,
        dst: '10.0.1.99/32',
        dev: 'enic',
        scope: 'link',
        protocol: 'boot',
        because,
      },
      {
        kind: 'route',
        family: 'inet',
        table: 2,
        dst: '10.0.9.0/24',
        dev: 'eth1',
        scope: 'link',
        protocol: 'static',
        extra: 'metric 100',
        because,
      },
    ],
    rules: [
      { kind: 'rule', family: 'inet', priority: 1536, table: 2, from: '10.0.1.99/32', extra: 'oif "eth1"', because },
    ],
  };
  const changes = diff(plan, live);
  t.deepEqual(
    changes.filter((c) => c.kind === 'delete' && c.object.because === because).map((c) => c.object.kind),
    ['route', 'route', 'rule'],
  );
  t.deepEqual(parseSavedPlan(savePlan(plan, changes, 'ns1'), 'f').changes, changes);
  const hostile = JSON.parse(savePlan(plan, changes));
  hostile.changes.find((c: { object: { protocol?: string } }) => c.object.protocol).object.protocol =
    'boot\nroute flush table main';
  t.throws(() => parseSavedPlan(JSON.stringify(hostile), 'p'), { message: /route protocol/ });
});

test('an oversized saved plan is refused before it is parsed', (t) => {
  t.throws(() => parseSavedPlan(' '.repeat(17 * 1024 * 1024), 'big.json'), { message: /larger than/ });
});

const HOSTILE = fc.oneof(
  fc.string(),
  fc.constantFrom('\n', '\r', ';', '}', '"', "'", '../', '\u0000', ' -j ACCEPT', '$(id)', '#', 'eth0\nrule add'),
  fc.string().map((s) => `eth${s}`),
);

/** Every leaf path of the plan JSON, so the property can replace any one of them. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: a payload line may never hold a NUL or a carriage return
const ALLOWED_LINE = /^[^\r\u0000]*$/;

test('property: a hostile string in any field is refused by the schema or renders only lines in the grammar', (t) => {
  const base = JSON.parse(savePlan(handPlan(), addAll(handPlan())));
  const paths = leaves(base);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: paths.length - 1 }), HOSTILE, (at, hostile) => {
      const saved = structuredClone(base);
      const path = paths[at]!;
      let node = saved;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path.at(-1)!] = hostile;
      let plan: HostPlan;
      try {
        plan = parseSavedPlan(JSON.stringify(saved), 'p').plan;
      } catch (error) {
        return (error as Error).message.startsWith('p: not a valid saved plan');
      }
      let payloads: ReturnType<typeof renderPayloads>;
      try {
        payloads = renderPayloads({ changes: addAll(plan), desired: plan, live: emptyLiveState });
      } catch (error) {
        return error instanceof RenderError;
      }
      const lines = [payloads.ip.inet, payloads.ip.inet6, payloads.iptables.inet, payloads.iptables.inet6, payloads.nft]
        .join('\n')
        .split('\n');
      const expected = renderPayloads({ changes: addAll(handPlan()), desired: handPlan(), live: emptyLiveState });
      const expectedCount = [
        expected.ip.inet,
        expected.ip.inet6,
        expected.iptables.inet,
        expected.iptables.inet6,
        expected.nft,
      ]
        .join('\n')
        .split('\n').length;
      // Same number of lines (nothing injected), each printable.
      return (
        lines.length === expectedCount &&
        lines.every((l) => ALLOWED_LINE.test(l)) &&
        payloads.sysctls.every((s) => !s.path.includes('..'))
      );
    }),
    { numRuns: 2000 },
  );
  t.pass();
});
