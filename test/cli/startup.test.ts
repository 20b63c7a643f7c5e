import { existsSync } from 'node:fs';
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

interface Way {
  readonly title: string;
  readonly start: (args: string[]) => [string, string[]];
}

// A Node older than 24 on the machine (the system one here): the bin re-executes itself with the clone's Node 24.
const oldNode = '/usr/bin/node';
const oldNodeWays: readonly Way[] = existsSync(oldNode)
  ? [{ title: '`node bin/vpc-cni.js` on an old Node (re-exec)', start: (args) => [oldNode, [bin, ...args]] }]
  : [];

// Every way a user starts the CLI. npx and `node FILE` hand all arguments to a Node process that scans them for its
// own --env-file (nodejs/node#54232); only the shebang's `--` and `node --` stop that.
const ways: readonly Way[] = [
  { title: 'the bin through its shebang', start: (args) => [bin, args] },
  { title: '`node bin/vpc-cni.js`', start: (args) => [process.execPath, [bin, ...args]] },
  { title: '`node -- bin/vpc-cni.js`', start: (args) => [process.execPath, ['--', bin, ...args]] },
  { title: '`npx vpc-cni`', start: (args) => ['npx', ['--yes', 'vpc-cni', ...args]] },
  { title: '`npx -- vpc-cni`', start: (args) => ['npx', ['--yes', '--', 'vpc-cni', ...args]] },
  ...oldNodeWays,
];

for (const way of ways) {
  test(`${way.title}: an env file is data: its NODE_OPTIONS is reported, never run`, async (t) => {
    const { envFile, ran } = await hostileEnvFile(t);
    const [file, args] = way.start(['validate', '--environment-file', envFile]);
    const result = await execa(file, args, { cwd: root, env: { PATH: path }, reject: false });
    t.is(result.exitCode, 0, result.stderr);
    // The env file's one unknown key, and nothing of the CLI's own plumbing (a re-exec marker) taken for a setting.
    t.deepEqual(
      result.stderr
        .split('\n')
        .filter((line) => line.startsWith('warning:'))
        .map((line) => line.split('=')[0]),
      ['warning: NODE_OPTIONS'],
    );
    t.false(await exists(ran), 'the env file reached Node and its NODE_OPTIONS ran');
  });

  test(`${way.title}: a directory after --environment-file is our error, not Node's`, async (t) => {
    const { dir } = await hostileEnvFile(t);
    const [file, args] = way.start(['validate', '--environment-file', dir]);
    const result = await execa(file, args, { cwd: root, env: { PATH: path }, reject: false });
    t.is(result.exitCode, 1);
    t.regex(result.stderr, /cannot read env file/);
    t.notRegex(result.stderr, /^node:/m);
  });
}

test('--env-file, which Node would take for its own started any other way, is refused with the flag to use', async (t) => {
  const { envFile, ran } = await hostileEnvFile(t);
  for (const args of [['--env-file', envFile], [`--env-file=${envFile}`], ['--env-file-if-exists', envFile]]) {
    const result = await execa(bin, ['validate', ...args], { env: { PATH: path }, reject: false });
    t.is(result.exitCode, 1);
    t.regex(
      result.stderr,
      /^vpc-cni validate: --env-file(-if-exists)? is Node's own option .* --environment-file FILE$/,
    );
  }
  t.false(await exists(ran));
});

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
