import test from 'ava';
import { main } from '../../src/cli/main.ts';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    env: {},
  });
  return { code, stdout, stderr };
}

test('simulate --output json gives ENIs by device with ips, prefixes and pods, and the EC2 call counts', async (t) => {
  const r = await run([
    'simulate',
    '--instance-type',
    't3.small',
    '--pods',
    '5',
    '-e',
    'WARM_IP_TARGET=2',
    '-e',
    'MINIMUM_IP_TARGET=5',
    '--output',
    'json',
  ]);
  t.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.deepEqual(
    out.enis.map((e: { deviceNumber: number; ips: number; prefixes: number; pods: number }) => [
      e.deviceNumber,
      e.ips,
      e.prefixes,
      e.pods,
    ]),
    [
      [0, 3, 0, 3],
      [1, 3, 0, 2],
      [2, 1, 0, 0],
    ],
  );
  t.true(out.ec2Calls.total >= out.ec2Calls.mutating && out.ec2Calls.mutating > 0);
  t.is(out.idleAddresses, 2);
});

test('simulate prints a table with the idle addresses, and prefix mode counts /28s', async (t) => {
  const r = await run([
    'simulate',
    '--instance-type',
    't3.small',
    '--pods',
    '17',
    '-e',
    'ENABLE_PREFIX_DELEGATION=true',
    '-e',
    'WARM_PREFIX_TARGET=1',
  ]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /17\/17 pods placed/);
  t.regex(r.stdout, /idle addresses: 31/);
});

test('a node that cannot hold the pods says why and exits 1', async (t) => {
  const r = await run(['simulate', '--instance-type', 't3.small', '--pods', '12', '--output', 'json']);
  t.is(r.code, 1);
  t.regex(JSON.parse(r.stdout).unplaced[0], /^pod 10: (ENI_LIMIT|MAX_PODS)\(/);
});

test('bad flags and bad settings are refused with the reason', async (t) => {
  t.regex((await run(['simulate', '--pods', '1'])).stderr, /--instance-type is required/);
  t.regex((await run(['simulate', '--instance-type', 't3.small', '--pods', 'x'])).stderr, /--pods must be/);
  t.regex((await run(['simulate', '--instance-type', 't3.small', '--pods', '1', '-e', 'NOPE'])).stderr, /KEY=VALUE/);
  const bad = await run(['simulate', '--instance-type', 't3.small', '--pods', '1', '-e', 'WARM_IP_TARGET=-3']);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /WARM_IP_TARGET/);
  t.regex((await run(['simulate', '--instance-type', 'x9.huge', '--pods', '1'])).stderr, /unknown instance type/);
});
