import { readdir, readFile } from 'node:fs/promises';
import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';

const root = new URL('../../', import.meta.url);

test('the shipped ConfigMap validates with no error and no warning', async (t) => {
  const loaded = await loadConfig({
    env: {},
    configMap: new URL('manifests/amazon-vpc-cni.configmap.yaml', root).pathname,
  });
  t.true(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  t.deepEqual(loaded.warnings, []);
  t.is(loaded.values['minimum-ip-target']?.source.kind, 'configmap');
});

/** Every `XCommand` the EC2 client imports from the SDK, as the IAM action `ec2:X`. */
async function ec2ActionsUsed(): Promise<string[]> {
  const dir = new URL('src/ipam/cloud/', root);
  const actions = new Set<string>();
  for (const file of await readdir(dir)) {
    if (!file.endsWith('.ts')) continue;
    const source = await readFile(new URL(file, dir), 'utf8');
    for (const block of source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-ec2'/g)) {
      for (const name of block[1]!.matchAll(/\b([A-Z][A-Za-z]+)Command\b/g)) actions.add(`ec2:${name[1]}`);
    }
  }
  return [...actions].sort();
}

test('the IAM policy allows exactly the EC2 actions the code calls (least privilege, nothing missing)', async (t) => {
  const policy = JSON.parse(await readFile(new URL('manifests/aws/iam-policy.json', root), 'utf8')) as {
    Statement: { Action: string[] }[];
  };
  const allowed = policy.Statement.flatMap((s) => s.Action).sort();
  const used = await ec2ActionsUsed();
  t.true(used.length >= 8, `found ${used.join(', ')}`);
  t.deepEqual(allowed, used);
});
