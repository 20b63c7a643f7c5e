import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { kernelTest } from '../helpers/needs.ts';

// The real binary run through its shebang, as `npx vpc-cni` runs it, with an environment that holds nothing but
// PATH (so `env node` finds the Node 24 that runs the tests) and what each test sets.
const bin = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;
const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const run = (args: string[], env: Record<string, string> = {}) =>
  execa(bin, args, { env: { PATH: path, ...env }, extendEnv: false, reject: false });

test('validate: an empty environment is valid (exit 0)', async (t) => {
  const result = await run(['validate']);
  t.is(result.exitCode, 0, result.stderr);
  t.regex(result.stdout, /configuration is valid/);
});

test('validate: AWS_VPC_ENI_MTU=99999 exits 1 with a line naming the key, the value and 576–9001', async (t) => {
  const result = await run(['validate'], { AWS_VPC_ENI_MTU: '99999' });
  t.is(result.exitCode, 1);
  const line = result.stderr.split('\n').find((l) => l.includes('AWS_VPC_ENI_MTU'));
  t.truthy(line);
  t.regex(line!, /99999/);
  t.regex(line!, /576–9001/);
});

test('validate --output json: every error and warning, one run', async (t) => {
  const result = await run(['validate', '--output', 'json'], {
    WARM_IP_TARGET: 'x',
    ENABLE_IPv6: 'maybe',
    WARM_ENI_TARGT: '1',
  });
  t.is(result.exitCode, 1);
  const report = JSON.parse(result.stdout) as {
    valid: boolean;
    errors: { key: string }[];
    warnings: { key: string }[];
  };
  t.false(report.valid);
  t.deepEqual(report.errors.map((e) => e.key).sort(), ['ENABLE_IPv6', 'WARM_IP_TARGET']);
  t.deepEqual(
    report.warnings.map((w) => w.key),
    ['WARM_ENI_TARGT'],
  );
});

test('config: effective values with provenance from --configmap, --environment-file and the environment', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const cm = join(dir, 'cm.yaml');
  const envFile = join(dir, 'node.env');
  await writeFile(
    cm,
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: amazon-vpc-cni\ndata:\n  WARM_IP_TARGET: "4"\n  AWS_VPC_ENI_MTU: "1500"\n',
  );
  await writeFile(envFile, 'AWS_VPC_ENI_MTU=1400\n');
  const result = await run(['config', '--configmap', cm, '--environment-file', envFile, '--output', 'json'], {
    AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true',
  });
  t.is(result.exitCode, 0, result.stderr);
  const out = JSON.parse(result.stdout) as Record<string, { value: unknown; source: { kind: string } }>;
  t.deepEqual([out.WARM_IP_TARGET?.value, out.WARM_IP_TARGET?.source.kind], [4, 'configmap']);
  t.deepEqual([out.AWS_VPC_ENI_MTU?.value, out.AWS_VPC_ENI_MTU?.source.kind], [1400, 'env-file']);
  t.deepEqual([out.AWS_VPC_K8S_CNI_EXTERNALSNAT?.value, out.AWS_VPC_K8S_CNI_EXTERNALSNAT?.source.kind], [true, 'env']);
  t.deepEqual([out.POD_MTU?.value, out.POD_MTU?.source.kind], [1400, 'derived']);
  t.deepEqual([out.WARM_ENI_TARGET?.value, out.WARM_ENI_TARGET?.source.kind], [1, 'default']);

  const table = await run(['config', '--configmap', cm, '--changed']);
  t.is(table.exitCode, 0);
  t.regex(table.stdout, /^WARM_IP_TARGET\s+4\s+ConfigMap .*cm\.yaml$/m);
});

test('config: a missing file is an error naming the file', async (t) => {
  const result = await run(['config', '--environment-file', '/nonexistent/node.env']);
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /\/nonexistent\/node\.env.*cannot read env file/);
});

test('max-pods: the eni-max-pods.txt formula for known types', async (t) => {
  for (const [type, expected] of [
    ['m5.large', '29'],
    ['t3.micro', '4'],
    ['t3.small', '11'],
    ['m4.4xlarge', '234'],
    ['m5.metal', '737'],
    ['p5.48xlarge', '100'],
  ]) {
    const result = await run(['max-pods', '--instance-type', type!]);
    t.is(result.exitCode, 0);
    t.is(result.stdout.split('\n')[0], expected, type);
  }
});

test('max-pods: prefix delegation, custom networking, MAX_ENI and the 110/250 cap', async (t) => {
  const first = async (args: string[]) => (await run(['max-pods', ...args])).stdout.split('\n')[0];
  t.is(await first(['--instance-type', 'm5.large', '--prefix-delegation']), '110');
  t.is(await first(['--instance-type', 'm5.large', '--prefix-delegation', '--show-max-allowed']), '434');
  t.is(await first(['--instance-type', 'm5.large', '--custom-networking', '--show-max-allowed']), '20');
  t.is(await first(['--instance-type', 'm5.large', '--max-eni', '2']), '20');
  t.is(await first(['--instance-type', 'm5.24xlarge', '--prefix-delegation']), '250');
  t.is(await first(['--instance-type', 'm5.24xlarge', '--prefix-delegation', '--cpus', '16']), '110');
  t.is(
    await first(['--instance-type', 'm4.large', '--prefix-delegation', '--show-max-allowed']),
    '20',
    'xen: no prefixes',
  );
});

test('max-pods: unknown type exits 1 with a clear error', async (t) => {
  const result = await run(['max-pods', '--instance-type', 'm99.huge']);
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /unknown instance type "m99\.huge"/);
  t.is(result.stdout, '');
});

test('--help explains every command; unknown flags exit 1', async (t) => {
  for (const command of ['validate', 'config', 'max-pods']) {
    const help = await run([command, '--help']);
    t.is(help.exitCode, 0);
    t.regex(help.stdout, /^Usage: vpc-cni /);
  }
  const bad = await run(['validate', '--bogus']);
  t.is(bad.exitCode, 1);
  t.regex(bad.stderr, /bogus/);
});

test('validate and simulate count errors the same way: "1 error", "2 errors", never "error(s)"', async (t) => {
  const one = await run(['validate'], { AWS_VPC_ENI_MTU: '99999' });
  t.regex(one.stderr, /^configuration is invalid: 1 error, 0 warnings$/m);
  const two = await run(['simulate', '--instance-type', 't3.small', '--pods', '1'], {
    AWS_VPC_ENI_MTU: '99999',
    WARM_IP_TARGET: 'x',
  });
  t.is(two.exitCode, 1);
  t.regex(two.stderr, /^configuration is invalid: 2 errors, 0 warnings$/m);
  t.notRegex(`${one.stderr}${two.stderr}`, /\(s\)/);
});

test('plan against a namespace it cannot read is an error naming the namespace, not a plan against nothing', async (t) => {
  const node = new URL('../../examples/nodes/m5-large-single-eni.json', import.meta.url).pathname;
  const result = await run(['plan', '--netns', 'vc-never-created-0', '--node', node, '--detailed-exitcode']);
  t.is(result.exitCode, 1, result.stderr);
  t.is(result.stdout, '', 'no changes printed for a node that was not read');
  t.is(result.stderr.match(/cannot read the live state/g)?.length, 1);
  t.regex(
    result.stderr,
    /cannot read the live state of network namespace vc-never-created-0 \(.+\); nothing planned\..* --offline/,
  );
  t.regex(
    result.stderr,
    /^planning node i-[0-9a-f]+ \(m5\.large, [a-z0-9-]+\) against network namespace vc-never-created-0$/m,
  );
});

test('plan --offline plans against an empty node, and says so in its header and reasons', async (t) => {
  const node = new URL('../../examples/nodes/m5-large-single-eni.json', import.meta.url).pathname;
  const result = await run(['plan', '--offline', '--node', node, '--detailed-exitcode']);
  t.is(result.exitCode, 2, result.stderr);
  t.regex(result.stderr, /against no namespace \(offline: against an empty node\)/);
  t.notRegex(result.stdout, /does not exist|\(missing\)|no interface named/);
  t.regex(result.stdout, /tcp_early_demux = 1 {3}\(assumed absent: the live state was not read \(offline plan\)\)/);
  const saved = await run(['plan', '--offline', '--node', node, '--out', '/tmp/never-written.plan']);
  t.is(saved.exitCode, 1);
  t.regex(saved.stderr, /--out cannot save an offline plan/);
});

test('apply names the failed step once: "read failed: …", not "read failed: read failed: …"', async (t) => {
  const node = new URL('../../examples/nodes/m5-large-single-eni.json', import.meta.url).pathname;
  // A dry run takes no lock, so the first thing to fail on a missing namespace is the applier's one read.
  const result = await run(['apply', '--dry-run', '--netns', 'vc-never-created-0', '--node', node]);
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /^vpc-cni apply: read failed: ip -n vc-never-created-0 /m);
  t.is(result.stderr.match(/read failed/g)?.length, 1, result.stderr);
  t.notRegex(result.stderr, /cannot read the live state/, 'the CLI does not read the live state itself');
});

kernelTest(
  "plan of this host against another node's snapshot is refused unless --allow-foreign-node (root: reads only)",
  async (t) => {
    const node = new URL('../../examples/nodes/m5-large-single-eni.json', import.meta.url).pathname;
    const refused = await run(['plan', '--node', node]);
    t.is(refused.exitCode, 1, refused.stderr);
    t.regex(refused.stderr, /none of its ENI MACs \(primary [0-9a-f:]+\) is on this host/);
    t.regex(refused.stderr, /--allow-foreign-node/);
    t.is(refused.stdout, '');
    const allowed = await run(['plan', '--node', node, '--allow-foreign-node']);
    t.is(allowed.exitCode, 0, allowed.stderr);
    t.regex(allowed.stderr, /against this host's network namespace/);
  },
);
