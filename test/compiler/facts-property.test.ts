/**
 * Property: a node snapshot with any one field replaced by a hostile or unreal value is refused with a bounded
 * NodeFactsError naming a field, or it is a snapshot the compiler plans into batch lines of the usual shape. Nothing
 * else is thrown and nothing is injected into a payload.
 */
import { readFileSync } from 'node:fs';
import test from 'ava';
import fc from 'fast-check';
import { diff } from '../../src/apply/diff.ts';
import { emptyLiveState } from '../../src/apply/live.ts';
import { renderPayloads } from '../../src/apply/payloads.ts';
import { compileHostPlan } from '../../src/compiler/compile.ts';
import { NodeFactsError, parseNodeFacts } from '../../src/compiler/facts.ts';
import { PlanError } from '../../src/compiler/host/context.ts';
import { RenderError } from '../../src/compiler/render/index.ts';
import { ipv4Config } from './fixtures.ts';

const source = JSON.parse(
  readFileSync(new URL('../../examples/nodes/three-eni-two-cidrs.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

/** Every leaf path of the snapshot, so the property can replace any one of them. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  }
  return [path];
}

const HOSTILE = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(
    '\n',
    'eth0\nrule add from all lookup 1',
    '"; flush ruleset',
    '../',
    '\u0000',
    '010.010.040.005',
    '0.0.0.0/0',
    '10.10.40.5',
    '100.64.12.10',
    '10.10.32.0/19',
    '100.64.0.0/10',
    '2600::1',
    ':::::',
    'x'.repeat(100_000),
  ),
  fc.constantFrom(4294967295, -1, 0.5, 1e308, 100, 31, 32, 0),
  fc.constantFrom(null, true, [], {}, { __proto__: null }),
  fc.string().map((s) => `eth${s}`),
);

// biome-ignore lint/suspicious/noControlCharactersInRegex: a payload line may never hold a NUL or a carriage return
const ALLOWED_LINE = /^[^\r\u0000]*$/;

interface Lines {
  readonly all: string[];
  readonly ip: string[];
  readonly iptables: string[];
}

function payloadLines(facts: ReturnType<typeof parseNodeFacts>): Lines {
  const plan = compileHostPlan(ipv4Config(), facts);
  const p = renderPayloads({ changes: diff(plan, emptyLiveState), desired: plan, live: emptyLiveState });
  const split = (...texts: string[]) =>
    texts
      .join('')
      .split('\n')
      .filter((l) => l !== '');
  const ip = split(p.ip.inet, p.ip.inet6);
  const iptables = split(p.iptables.inet, p.iptables.inet6);
  return { ip, iptables, all: [...ip, ...iptables, ...split(p.nft), ...p.sysctls.map((s) => `${s.path}=${s.value}`)] };
}

/** The first word of every line each batch takes: anything else on a line start is an injected command. */
const IP_LINE = /^(link|address|route|rule) (set|add|del|replace) /;
const IPTABLES_LINE = /^(\*(nat|mangle|filter)|:[\w-]+ |-[AIDFX] [\w-]+|COMMIT$)/;

test('property: a hostile value in any field is refused naming a field, or planned into lines of the usual shape', (t) => {
  const paths = leaves(source);
  const original = payloadLines(parseNodeFacts(source, 'node.json'));
  const baseline = original.all.length;
  t.true(original.ip.every((l) => IP_LINE.test(l)) && original.iptables.every((l) => IPTABLES_LINE.test(l)));
  fc.assert(
    fc.property(fc.integer({ min: 0, max: paths.length - 1 }), HOSTILE, (at, hostile) => {
      const facts = structuredClone(source) as Record<string | number, any>;
      const path = paths[at]!;
      let node = facts;
      for (const key of path.slice(0, -1)) node = node[key];
      node[path.at(-1)!] = hostile;
      let parsed: ReturnType<typeof parseNodeFacts>;
      try {
        parsed = parseNodeFacts(facts, 'node.json');
      } catch (error) {
        if (!(error instanceof NodeFactsError)) return false;
        const [head, ...lines] = error.message.split('\n');
        return (
          head === 'invalid node facts from node.json:' &&
          lines.length >= 1 &&
          lines.every((l) => /^ {2}(\(document\)|[\w[\]."]+)[ :=]/.test(l) && l.length <= 400) &&
          !/✖|→ at|Invalid input/.test(error.message)
        );
      }
      let lines: Lines;
      try {
        lines = payloadLines(parsed);
      } catch (error) {
        // A snapshot the schema accepts but the compiler cannot plan must say so in its own terms.
        return error instanceof PlanError || error instanceof RenderError;
      }
      // One changed value never adds objects (an ENI on another network card is left alone: fewer lines), so more
      // lines than the original snapshot's would be an injection.
      return (
        lines.all.length <= baseline &&
        lines.all.every((l) => ALLOWED_LINE.test(l)) &&
        lines.ip.every((l) => IP_LINE.test(l)) &&
        lines.iptables.every((l) => IPTABLES_LINE.test(l))
      );
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('property: arbitrary JSON is refused with a NodeFactsError, never anything else', (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      try {
        parseNodeFacts(value, 'node.json');
        return false;
      } catch (error) {
        return error instanceof NodeFactsError && error.message.length < 2000;
      }
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
