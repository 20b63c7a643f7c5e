/**
 * Property tests at the trust boundaries not covered beside their parsers: ConfigMap manifests, the plugin's netconf
 * on stdin and its CNI_* variables, socket messages, and CLI arguments. Whatever arrives, the answer is a bounded,
 * structured refusal or a valid value — never a crash, a stack trace or zod's own text.
 */
import test from 'ava';
import fc from 'fast-check';
import { main } from '../../src/cli/main.ts';
import { parseInvocation, parseNetConf } from '../../src/cni/netconf.ts';
import { CniError } from '../../src/cni/spec.ts';
import { formatIssue, generatedCatalog, parseConfig, parseConfigMap } from '../../src/compiler/settings/index.ts';
import { decode } from '../../src/ipc/codec.ts';
import { Request } from '../../src/ipc/protocol.ts';

const keys = Object.keys(generatedCatalog());
// Strings an attacker reaches for: quotes, newlines, shell and path tricks, prototype keys, huge numbers.
const hostile = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.constantFrom('"', "'", '\n-A INPUT -j ACCEPT', '$(reboot)', '../../etc', '__proto__', '1e400', '-1', '\u0000'),
  fc.string({ maxLength: 20 }).map((s) => `${s}${'9'.repeat(5000)}`),
);
const json = fc.jsonValue({ maxDepth: 4 });

test('property: any ConfigMap manifest is a layer with bounded problems, and its values parse or are refused bounded', (t) => {
  const manifest = fc.oneof(
    json,
    fc.record({
      apiVersion: fc.constant('v1'),
      kind: fc.constant('ConfigMap'),
      metadata: fc.record({ name: fc.constant('amazon-vpc-cni'), namespace: fc.constant('kube-system') }),
      data: fc.dictionary(fc.oneof(fc.constantFrom(...keys), hostile), fc.oneof(hostile, json), { maxKeys: 8 }),
    }),
  );
  fc.assert(
    fc.property(manifest, (m) => {
      const { layer, problems } = parseConfigMap(m, 'cm.yaml');
      const r = parseConfig([layer], generatedCatalog(), problems);
      const messages = [...problems.map((p) => p.message), ...(r.ok ? [] : r.errors.map(formatIssue))];
      return messages.every((m) => m.length <= 1200 && !m.includes('✖'));
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('property: any stdin and CNI_* variables give a netconf, an invocation, or a CniError with a bounded message', (t) => {
  const netconf = fc.oneof(
    fc.string({ maxLength: 300 }),
    json.map((v) => JSON.stringify(v)),
    fc
      .record({
        cniVersion: fc.oneof(fc.constantFrom('1.0.0', '1.1.0', '0.4.0'), hostile),
        name: fc.oneof(fc.constant('aws-cni'), hostile),
        vethPrefix: hostile,
        mtu: hostile,
        pluginLogFile: hostile,
        agentSocket: hostile,
      })
      .map((v) => JSON.stringify(v)),
  );
  const env = fc.record({
    CNI_CONTAINERID: hostile,
    CNI_NETNS: fc.oneof(fc.constant('/var/run/netns/p1'), hostile),
    CNI_IFNAME: fc.oneof(fc.constant('eth0'), hostile),
    CNI_ARGS: fc.oneof(fc.constant('K8S_POD_NAMESPACE=default;K8S_POD_NAME=web'), hostile),
  });
  fc.assert(
    fc.property(netconf, env, (stdin, vars) => {
      for (const attempt of [() => parseNetConf(stdin), () => parseInvocation('ADD', vars)]) {
        try {
          attempt();
        } catch (error) {
          if (!(error instanceof CniError)) return false;
          if (error.message.length > 1200 || error.message.includes('✖')) return false;
        }
      }
      return true;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

test('property: any socket line decodes to a request or a MALFORMED / VERSION_MISMATCH answer, bounded', (t) => {
  const line = fc.oneof(
    fc.string({ maxLength: 400 }),
    json.map((v) => JSON.stringify(v)),
    fc
      .record({
        v: fc.oneof(fc.constant(1), json),
        id: json,
        op: fc.constantFrom('ADD', 'DEL', 'GC', 'X'),
        attachment: json,
      })
      .map((v) => JSON.stringify(v)),
  );
  fc.assert(
    fc.property(line, (l) => {
      const decoded = decode(l, Request);
      return decoded.ok || decoded.error.message.length <= 1500;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

test('property: arbitrary CLI arguments end in exit 0, 1 or 2 with a message, never a stack trace', async (t) => {
  const example = new URL('../../examples/nodes/m5-large-single-eni.json', import.meta.url).pathname;
  // Commands that neither write nor reach the network; plan stays offline so the host is never read as root.
  const commands = fc.constantFrom(
    ['validate'],
    ['config'],
    ['max-pods'],
    ['plan', '--offline', '--node', example],
    ['help'],
    [],
  );
  const flags = fc.array(
    fc.oneof(
      hostile,
      fc.constantFrom(
        '--output',
        'json',
        '--environment-file',
        '/dev/zero',
        '--configmap',
        '--instance-type',
        '-o',
        '--',
        '--help',
      ),
    ),
    { maxLength: 6 },
  );
  await fc.assert(
    fc.asyncProperty(commands, flags, async (command, rest) => {
      let out = '';
      const io = {
        stdout: (s: string) => {
          out += s;
        },
        stderr: (s: string) => {
          out += s;
        },
        env: {},
      };
      const code = await main([...command, ...rest], io);
      return [0, 1, 2].includes(code) && !/\n\s+at .+:\d+:\d+/.test(out) && out.length < 200_000;
    }),
    { numRuns: 150 },
  );
  t.pass();
});
