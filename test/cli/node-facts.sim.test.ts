/** `vpc-cni node-facts` against the IMDS simulator, run in-process. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { main } from '../../src/cli/main.ts';
import { parseNodeFacts } from '../../src/compiler/facts.ts';
import { startSimulators } from '../../src/sim/index.ts';

async function run(args: string[], env: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env });
  return { code, stdout, stderr };
}

test('writes a valid snapshot from IMDS (endpoint from AWS_EC2_METADATA_SERVICE_ENDPOINT)', async (t) => {
  const sims = await startSimulators({ instanceType: 'm5.large' });
  t.teardown(() => sims.close());
  const dir = await mkdtemp(join(tmpdir(), 'vc-node-facts-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = join(dir, 'node.json');
  const result = await run(['node-facts', '--no-resolve', '--iptables-mode', 'legacy', '--out', out], {
    AWS_EC2_METADATA_SERVICE_ENDPOINT: sims.imdsUrl,
  });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`^${sims.instance.id} \\(m5\\.large\\)`));
  const facts = parseNodeFacts(JSON.parse(await readFile(out, 'utf8')), out);
  t.is(facts.instanceId, sims.instance.id);
  t.is(facts.iptablesMode, 'legacy');
});

test('--output json prints the snapshot; --imds overrides the environment', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const result = await run(
    ['node-facts', '--no-resolve', '--iptables-mode', 'nf_tables', '--imds', sims.imdsUrl, '-o', 'json'],
    {
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9',
    },
  );
  t.is(result.code, 0, result.stderr);
  t.is(parseNodeFacts(JSON.parse(result.stdout), 'stdout').primaryMac, sims.model.eni(sims.instance.primaryEniId).mac);
});

test('the simulated ENIs have no local link: exit 1 naming the MAC, nothing written', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const result = await run(['node-facts', '--iptables-mode', 'nf_tables', '--imds', sims.imdsUrl]);
  t.is(result.code, 1);
  t.regex(result.stderr, /no interface has the MAC [0-9a-f:]{17} of eni-/);
  t.is(result.stdout, '');
});

test('a bad --iptables-mode is a usage error', async (t) => {
  const result = await run(['node-facts', '--iptables-mode', 'nft']);
  t.is(result.code, 1);
  t.regex(result.stderr, /--iptables-mode must be nf_tables or legacy/);
});
