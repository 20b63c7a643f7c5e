import test from 'ava';
import { diff } from '../../src/apply/diff.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import { emptyLiveState, type LiveState, unreadLiveState } from '../../src/apply/live.ts';
import {
  parseIpRoutes,
  parseIpRules,
  parseIptablesSave,
  parseNftRuleset,
  parseNftTableIndex,
  splitIptablesArgs,
} from '../../src/apply/parse.ts';
import { renderPayloads } from '../../src/apply/payloads.ts';
import { revert, rollbackDifferences, strayTables } from '../../src/apply/revert.ts';
import { handPlan } from './fixtures.ts';

/** The plan's own objects read back as live ones (what the kernel shows after a successful apply). */
function liveOf(plan = handPlan()): LiveState {
  return {
    links: plan.links,
    addresses: plan.addresses,
    routes: plan.routes.map((r) => ({ ...r, protocol: 'boot' })),
    rules: plan.rules,
    sysctls: plan.sysctls,
    iptablesChains: plan.iptablesChains,
    iptablesRules: plan.iptablesRules,
    nftTables: plan.nftTables,
  };
}

test('parse: iptables-save lines split like a shell, quotes and escapes included', (t) => {
  t.deepEqual(splitIptablesArgs('-A X -m comment --comment "AWS, SNAT" -j RETURN'), [
    '-A',
    'X',
    '-m',
    'comment',
    '--comment',
    'AWS, SNAT',
    '-j',
    'RETURN',
  ]);
  t.deepEqual(splitIptablesArgs('--comment "say \\"hi\\""'), ['--comment', 'say "hi"']);
  const { chains, rules } = parseIptablesSave(
    '*nat\n:POSTROUTING ACCEPT [0:0]\n:AWS-SNAT-CHAIN-0 - [0:0]\n-A AWS-SNAT-CHAIN-0 -j RETURN\nCOMMIT\n',
    'inet',
    ['nat'],
  );
  t.deepEqual(
    chains.map((c) => c.name),
    ['AWS-SNAT-CHAIN-0'],
  );
  t.deepEqual(
    rules.map((r) => [r.chain, r.args]),
    [['AWS-SNAT-CHAIN-0', ['-j', 'RETURN']]],
  );
});

test('parse: ip -json routes and rules normalise default, host prefixes, named tables and unmodelled selectors', (t) => {
  const routes = parseIpRoutes(
    '[{"dst":"default","gateway":"10.0.2.1","dev":"eth1","table":"2","protocol":"boot","scope":"global","flags":[]},{"type":"local","dst":"10.0.1.5","dev":"eth0","table":"local"},{"dst":"10.0.1.20","dev":"enia","table":"main","scope":"link","flags":[]}]',
    'inet',
  );
  t.deepEqual(
    routes.map((r) => [r.table, r.dst, r.via]),
    [
      [2, '0.0.0.0/0', '10.0.2.1'],
      [254, '10.0.1.20/32', undefined],
    ],
  );
  const rules = parseIpRules(
    '[{"priority":1024,"src":"all","fwmark":"0x80","fwmask":"0x80","table":"main"},{"priority":600,"not":null,"src":"10.1.0.0","srclen":16,"table":"5"}]',
    'inet',
  );
  t.deepEqual(rules[0]?.fwmark, { mark: 0x80, mask: 0x80 });
  t.is(rules[1]?.from, '10.1.0.0/16');
  t.is(rules[1]?.extra, 'not null');
});

test('parse: nft ruleset keeps only the wanted tables, base chains with numeric priority', (t) => {
  const text =
    'table ip nat {\n\tchain POSTROUTING {\n\t\ttype nat hook postrouting priority 100; policy accept;\n\t}\n}\ntable ip aws-cni {\n\tchain snat-mark {\n\t\tcounter ip daddr 10.0.0.0/16 return\n\t}\n\n\tchain nat-prerouting {\n\t\ttype nat hook prerouting priority -90; policy accept;\n\t\tfib daddr type local return\n\t}\n}\n';
  const [table, ...rest] = parseNftRuleset(text, ['ip aws-cni']);
  t.is(rest.length, 0);
  t.deepEqual(table?.chains, [
    { name: 'snat-mark', rules: ['counter ip daddr 10.0.0.0/16 return'] },
    {
      name: 'nat-prerouting',
      base: { type: 'nat', hook: 'prerouting', priority: -90, policy: 'accept' },
      rules: ['fib daddr type local return'],
    },
  ]);
});

test('diff: nothing to do when the live state is the plan', (t) => {
  t.deepEqual(diff(handPlan(), liveOf()), []);
});

test('diff: against a kernel that was not read, every change says it is assumed, none claims an observation', (t) => {
  const observed = diff(handPlan(), emptyLiveState);
  const assumed = diff(handPlan(), unreadLiveState('not root'));
  t.true(observed.length > 0);
  t.deepEqual(
    assumed.map(({ reason: _, ...change }) => change),
    observed.map(({ reason: _, ...change }) => change),
  );
  for (const change of assumed) t.is(change.reason, 'assumed absent: the live state was not read (not root)');
});

test('diff: owned leftovers are deleted, foreign objects never appear', (t) => {
  const plan = handPlan();
  const live = liveOf();
  const withExtras: LiveState = {
    ...live,
    rules: [
      ...live.rules,
      { kind: 'rule', family: 'inet', priority: 512, table: 254, to: '10.0.9.9/32', because: 'live' },
      { kind: 'rule', family: 'inet', priority: 3000, table: 77, from: '10.9.0.0/16', because: 'live' },
    ],
    routes: [
      ...live.routes,
      {
        kind: 'route',
        family: 'inet',
        table: 77,
        dst: '10.9.0.0/16',
        dev: 'eth0',
        scope: 'link',
        protocol: 'boot',
        because: 'live',
      },
      {
        kind: 'route',
        family: 'inet',
        table: 2,
        dst: '10.5.0.0/16',
        dev: 'eth1',
        scope: 'link',
        protocol: 'boot',
        because: 'live',
      },
    ],
    iptablesChains: [
      ...live.iptablesChains,
      { kind: 'iptables-chain', family: 'inet', table: 'nat', name: 'KUBE-SERVICES', because: 'live' },
      { kind: 'iptables-chain', family: 'inet', table: 'nat', name: 'AWS-SNAT-CHAIN-1', because: 'live' },
    ],
    iptablesRules: [
      ...live.iptablesRules,
      {
        kind: 'iptables-rule',
        family: 'inet',
        table: 'nat',
        chain: 'PREROUTING',
        args: ['-j', 'KUBE-SERVICES'],
        because: 'live',
      },
      {
        kind: 'iptables-rule',
        family: 'inet',
        table: 'mangle',
        chain: 'PREROUTING',
        args: ['-i', 'veth+', '-m', 'comment', '--comment', 'AWS, primary ENI', '-j', 'ACCEPT'],
        because: 'live',
      },
    ],
  };
  const changes = diff(plan, withExtras);
  t.deepEqual(
    changes.map((c) => `${c.kind} ${c.object.kind} ${c.reason}`),
    [
      'delete route owned (table 2) but not desired',
      'delete rule owned (priority 512) but not desired',
      'delete iptables-chain owned chain no longer desired (with its 0 rules)',
      'delete iptables-rule owned but not desired',
    ],
  );
});

test('revert: converging back from an applied plan to an empty node removes exactly what the plan added', (t) => {
  const plan = handPlan();
  const { changes } = revert(emptyLiveState, liveOf(), plan);
  const kinds = new Set(changes.map((c) => c.kind));
  t.deepEqual([...kinds], ['delete']);
  t.is(
    changes.filter((c) => c.object.kind === 'iptables-rule').length,
    4,
    'rules in built-in chains (the chain takes its own)',
  );
  t.is(changes.filter((c) => c.object.kind === 'route').length, plan.routes.length);
});

test('rollback: only the empty iptables-nft tables that appeared during the apply are stray', (t) => {
  const ruleset = [
    'table ip mangle {',
    '\tchain PREROUTING {',
    '\t\ttype filter hook prerouting priority -150; policy accept;',
    '\t}',
    '}',
    'table ip nat {',
    '\tchain POSTROUTING {',
    '\t\ttype nat hook postrouting priority 100; policy accept;',
    '\t\tcounter masquerade',
    '\t}',
    '}',
    'table ip6 filter {',
    '\tchain INPUT {',
    '\t\ttype filter hook input priority 0; policy drop;',
    '\t}',
    '}',
    'table ip other {',
    '}',
    '',
  ].join('\n');
  const after: LiveState = { ...emptyLiveState, nftIndex: parseNftTableIndex(ruleset) };
  t.deepEqual(after.nftIndex, [
    { key: 'ip mangle', empty: true },
    { key: 'ip nat', empty: false },
    { key: 'ip6 filter', empty: false },
    { key: 'ip other', empty: true },
  ]);
  const before: LiveState = { ...emptyLiveState, nftIndex: [] };
  t.deepEqual(
    strayTables(before, after),
    [{ family: 'ip', name: 'mangle' }],
    'not a table with a rule or a drop policy, not a foreign name',
  );
  t.deepEqual(
    strayTables({ ...before, nftIndex: [{ key: 'ip mangle', empty: true }] }, after),
    [],
    'it was there before',
  );
  t.deepEqual(strayTables(emptyLiveState, after), [], 'the state before was not read: nothing is deleted');
  t.deepEqual(rollbackDifferences(before, after, handPlan()), [
    'nft table ip mangle: present now, absent before the apply',
  ]);
});

test('an apply error says "rolled back" only for a verified rollback, and bounds the list of differences', (t) => {
  const ok = new ApplyError('write', 'nft batch failed', { rollback: { ok: true } });
  t.regex(ok.message, /rolled back: re-read/);
  const unread = new ApplyError('write', 'nft batch failed', {
    rollback: { ok: false, error: new Error('nsenter: gone') },
  });
  t.regex(unread.message, /ROLLBACK UNVERIFIED, the namespace could not be re-read: nsenter: gone/);
  t.notRegex(unread.message, /rolled back/);
  const differs = Array.from({ length: 25 }, (_, i) => `rule ${i}: present now, absent before the apply`);
  const many = new ApplyError('write', 'nft batch failed', { rollback: { ok: false, differs } });
  t.regex(many.message, /ROLLBACK INCOMPLETE/);
  t.regex(many.message, / {2}rule 19: present now/);
  t.notRegex(many.message, /rule 20:/);
  t.regex(many.message, /… and 5 more/);
});

test('payloads: new routes and rules are written before old ones are removed, one payload per backend', (t) => {
  const plan = handPlan();
  const live = liveOf();
  const moved = {
    ...plan,
    routes: plan.routes.map((r) => (r.table === 2 && r.via ? { ...r, via: '10.0.2.254' } : r)),
    rules: plan.rules.map((r) => (r.priority === 32765 ? { ...r, table: 3 } : r)),
  };
  const payloads = renderPayloads({ changes: diff(moved, live), desired: moved, live });
  const lines = payloads.ip.inet.trim().split('\n');
  t.deepEqual(lines, [
    'route replace 0.0.0.0/0 via 10.0.2.254 dev eth1 table 2',
    'rule add priority 32765 from 10.0.2.10/32 lookup 3',
    'rule del priority 32765 from 10.0.2.10/32 lookup 2',
  ]);
  t.is(payloads.iptables.inet, '');
  t.is(payloads.nft, '');
});
