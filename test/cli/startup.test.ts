import { access, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa } from 'execa';

// These run the bundle in dist/ through bin/vpc-cni.js: `npm test` builds it first (pretest); after editing src/, run
// `npm run build` before running this file alone.
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin', 'vpc-cni.js');
const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;

/** An env file that would run a script if anything handed it to Node (`NODE_OPTIONS=--require`), and that script. */
async function hostileEnvFile(t: { teardown: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-argv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ran = join(dir, 'ran');
  const script = join(dir, 'payload.cjs');
  await writeFile(script, `require('node:fs').writeFileSync(${JSON.stringify(ran)}, 'ran');\n`);
  const envFile = join(dir, 'aws-node.env');
  await writeFile(envFile, `NODE_OPTIONS=--require ${script}\nWARM_IP_TARGET=2\n`);
  return { dir, envFile, ran };
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

const ways: readonly { title: string; start: (args: string[]) => [string, string[]] }[] = [
  { title: 'the bin through its shebang', start: (args) => [bin, args] },
  { title: '`node -- bin/vpc-cni.js`', start: (args) => [process.execPath, ['--', bin, ...args]] },
  { title: '`npx -- vpc-cni`', start: (args) => ['npx', ['--yes', '--', 'vpc-cni', ...args]] },
];

for (const way of ways) {
  test(`${way.title}: an env file is data: its NODE_OPTIONS is reported, never run`, async (t) => {
    const { envFile, ran } = await hostileEnvFile(t);
    const [file, args] = way.start(['validate', '--env-file', envFile]);
    const result = await execa(file, args, { cwd: root, env: { PATH: path }, reject: false });
    t.is(result.exitCode, 0, result.stderr);
    t.regex(result.stderr, /NODE_OPTIONS=.*not a setting/);
    t.false(await exists(ran), 'the env file reached Node and its NODE_OPTIONS ran');
  });

  test(`${way.title}: a directory after --env-file is our error, not Node's`, async (t) => {
    const { dir } = await hostileEnvFile(t);
    const [file, args] = way.start(['validate', '--env-file', dir]);
    const result = await execa(file, args, { cwd: root, env: { PATH: path }, reject: false });
    t.is(result.exitCode, 1);
    t.regex(result.stderr, /cannot read env file/);
    t.notRegex(result.stderr, /^node:/m);
  });
}

test('`vpc-cni config | head -1`: a reader that goes away ends the command quietly with exit 0', async (t) => {
  const subprocess = execa(bin, ['config'], { env: { PATH: path }, reject: false, buffer: { stdout: false } });
  // Closing our end before the first write makes every write the command does meet EPIPE, as after `head -1`.
  subprocess.stdout.destroy();
  const result = await subprocess;
  t.is(result.stderr, '');
  t.is(result.exitCode, 0);
});

test('--version and -V print the package version; --help lists every command', async (t) => {
  const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
  for (const flag of ['--version', '-V']) {
    const result = await execa(bin, [flag], { env: { PATH: path } });
    t.is(result.stdout, version);
  }
  const help = await execa(bin, ['--help'], { env: { PATH: path } });
  for (const name of ['validate', 'config', 'max-pods', 'simulate', 'node-facts', 'plan', 'apply', 'install-cni'])
    t.regex(help.stdout, new RegExp(`^  ${name} `, 'm'));
});

test('a first run starts from the catalog the build evaluated: nothing is evaluated or cached', async (t) => {
  const cacheDir = await mkdtemp(join(tmpdir(), 'vpc-cni-first-run-'));
  t.teardown(() => rm(cacheDir, { recursive: true, force: true }));
  const result = await execa(bin, ['validate'], { env: { PATH: path, VPC_CNI_CACHE_DIR: cacheDir }, reject: false });
  t.is(result.exitCode, 0, result.stderr);
  t.deepEqual(
    (await readdir(cacheDir)).filter((f) => f.startsWith('catalog-')),
    [],
  );
});
