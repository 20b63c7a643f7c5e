import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { execa, execaSync } from 'execa';
import * as z from 'zod';

// The package as a new user gets it: `npm pack` of the built dist/ (`npm test` builds it first), installed into an
// empty project, run through node_modules/.bin. Dependencies come from npm's cache (--prefer-offline).
const root = fileURLToPath(new URL('../..', import.meta.url));
const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const example = join(root, 'examples', 'nodes', 'm5-large-single-eni.json');

const PackSchema = z.array(z.object({ filename: z.string(), files: z.array(z.object({ path: z.string() })) }));

test.serial('npm pack ships the bundle, its data files and the LICENSE, and no TypeScript', async (t) => {
  const { stdout } = await execa('npm', ['pack', '--dry-run', '--ignore-scripts', '--json'], {
    cwd: root,
    env: { PATH: path },
  });
  const files = PackSchema.parse(JSON.parse(stdout))[0]!.files.map((f) => f.path);
  for (const file of ['LICENSE', 'bin/vpc-cni.js', 'dist/vpc-cni.js', 'dist/catalog.json', 'schema/config.cue'])
    t.true(files.includes(file), file);
  // The bundle carries the sources and the instance-limits table; nothing under src/ ships.
  t.deepEqual(
    files.filter((f) => f.endsWith('.ts') || f.startsWith('src/')),
    [],
  );
});

test.serial(
  'installed from the packed tarball, vpc-cni runs: --help, --version, max-pods, validate, plan',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-install-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const env = { PATH: path, HOME: dir, VPC_CNI_CACHE_DIR: join(dir, 'cache') };
    const { stdout } = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
      cwd: root,
      env,
    });
    const tarball = join(dir, PackSchema.parse(JSON.parse(stdout))[0]!.filename);
    const project = join(dir, 'project');
    await execa('mkdir', [project]);
    await writeFile(join(project, 'package.json'), '{"private": true}\n');
    await execa('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: project, env });

    const bin = join(project, 'node_modules', '.bin', 'vpc-cni');
    const run = (args: string[]) => execa(bin, args, { cwd: project, env, reject: false });
    const help = await run(['--help']);
    t.is(help.exitCode, 0, help.stderr);
    t.regex(help.stdout, /Commands:/);
    t.is((await run(['--version'])).stdout, '0.1.0');
    t.is((await run(['max-pods', '--instance-type', 'm5.large'])).stdout.split('\n')[0], '29');
    const validate = await run(['validate', '--environment-file', join(dir, 'missing.env')]);
    t.is(validate.exitCode, 1);
    t.regex(validate.stderr, /cannot read env file/);
    t.notRegex(validate.stderr, /\n\s+at /, 'no stack trace');
    const valid = await run(['validate']);
    t.is(valid.exitCode, 0, valid.stderr);
    // An env file is data however the installed CLI is started: Node's own --env-file handling (nodejs/node#54232)
    // never sees our flag, so its NODE_OPTIONS never runs.
    const ran = join(dir, 'ran');
    await writeFile(join(dir, 'payload.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(ran)}, 'ran');\n`);
    await writeFile(join(dir, 'hostile.env'), `NODE_OPTIONS=--require ${join(dir, 'payload.cjs')}\n`);
    const hostile = ['validate', '--environment-file', join(dir, 'hostile.env')];
    const installedBin = join(project, 'node_modules', 'vpc-cni', 'bin', 'vpc-cni.js');
    for (const [file, args] of [
      [bin, hostile],
      [process.execPath, [installedBin, ...hostile]],
      ['npx', ['--offline', 'vpc-cni', ...hostile]],
    ] as const) {
      const result = await execa(file, args, { cwd: project, env, reject: false });
      t.is(result.exitCode, 0, `${file}: ${result.stderr}`);
      t.false(existsSync(ran), `${file}: NODE_OPTIONS from the env file ran`);
    }
    const plan = await run(['plan', '--node', example, '--netns', 'vpc-cni-no-such-netns']);
    t.notRegex(plan.stderr, /\n\s+at /, 'no stack trace');
    t.notRegex(plan.stderr, /ERR_|Cannot find/);
  },
);

const oldNode = '/usr/bin/node';
function majorOf(node: string): number | undefined {
  try {
    return Number(execaSync(node, ['--version']).stdout.slice(1).split('.')[0]);
  } catch {
    return undefined;
  }
}
const oldMajor = majorOf(oldNode);
const withOldNode = oldMajor !== undefined && oldMajor < 24 ? test : test.skip;
const skipped = withOldNode === test ? '' : `skipped, no Node older than 24 at ${oldNode}: `;

withOldNode(`${skipped}a Node older than 24 gets one line and exit 1, or the clone's Node 24`, async (t) => {
  // The bin alone stands for an installed package (no Node 24 beside it); a Node 24 link that is this very old Node
  // stands for a clone whose dev dependency is too old as well, which must end, not start itself again.
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-old-node-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'bin'));
  await copyFile(join(root, 'bin', 'vpc-cni.js'), join(dir, 'bin', 'vpc-cni.js'));
  await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
  for (const setup of ['alone', 'with a Node 24 link to itself']) {
    if (setup !== 'alone') {
      await mkdir(join(dir, 'node_modules', '.bin'), { recursive: true });
      await symlink(oldNode, join(dir, 'node_modules', '.bin', 'node'));
    }
    const refused = await execa(oldNode, [join(dir, 'bin', 'vpc-cni.js'), '--version'], {
      env: { PATH: path },
      reject: false,
      timeout: 30_000,
    });
    t.is(refused.exitCode, 1, setup);
    t.is(refused.stdout, '', setup);
    t.regex(refused.stderr, /^vpc-cni: needs Node\.js 24 or newer, this is v\d+\.\d+\.\d+ \(.+\)$/, setup);
  }
  // In a clone the bin starts the dev dependency's Node 24 instead.
  const reexec = await execa(oldNode, [join(root, 'bin', 'vpc-cni.js'), '--version'], { env: { PATH: path } });
  t.is(reexec.stdout, '0.1.0');
});
