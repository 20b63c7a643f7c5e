import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { netconfFromConfig, renderConflist } from '../../src/agent/conflist.ts';
import { checkPath, type InstallCniOptions, InstallPathError, installCni } from '../../src/agent/install-cni.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { TEST_SEA_CACHE } from '../helpers/plugin.ts';

// A stand-in main for the executable: these tests are about installing, not about the plugin (test/cni has those).
// A plugin main is a snapshot script: it names the function each run starts in (src/cni/main.ts does the same).
const BUNDLE = `require('node:v8').startupSnapshot.setDeserializeMainFunction(() =>
  process.stdout.write(JSON.stringify({ argv: process.argv.length, env: Object.keys(process.env) })));\n`;

async function scratch(t: ExecutionContext): Promise<{ binDir: string; confDir: string; bundle: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-install-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const binDir = join(dir, 'bin');
  const confDir = join(dir, 'net.d');
  await mkdir(binDir);
  await mkdir(confDir);
  const bundle = join(dir, 'bundle.cjs');
  await writeFile(bundle, BUNDLE);
  return { binDir, confDir, bundle };
}

function options(dirs: { binDir: string; confDir: string; bundle: string }, mtu = 9001): InstallCniOptions {
  return {
    binDir: dirs.binDir,
    confDir: dirs.confDir,
    socketPath: '/run/vpc-cni/agent.sock',
    netconf: { ...netconfFromConfig(testConfig()), mtu },
    executable: { cacheDir: TEST_SEA_CACHE, bundle: dirs.bundle },
  };
}

test('the conflist is the reference 10-aws.conflist: aws-cni (mtu a string, the pod-annotations capability), then portmap', (t) => {
  const config = testConfig({
    AWS_VPC_K8S_CNI_VETHPREFIX: 'abc',
    AWS_VPC_ENI_MTU: '1500',
    POD_SECURITY_GROUP_ENFORCING_MODE: 'standard',
    AWS_VPC_K8S_PLUGIN_LOG_FILE: 'stderr',
    AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'info',
  });
  t.deepEqual(JSON.parse(renderConflist(netconfFromConfig(config), '/run/x.sock')), {
    cniVersion: '0.4.0',
    name: 'aws-cni',
    disableCheck: true,
    plugins: [
      {
        name: 'aws-cni',
        type: 'aws-cni',
        vethPrefix: 'abc',
        mtu: '1500',
        podSGEnforcingMode: 'standard',
        pluginLogFile: 'stderr',
        pluginLogLevel: 'info',
        capabilities: { 'io.kubernetes.cri.pod-annotations': true },
        agentSocket: '/run/x.sock',
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  });
});

test('POD_MTU, when set, is the mtu the plugin gets (it is the pod veth MTU); otherwise AWS_VPC_ENI_MTU', (t) => {
  t.is(netconfFromConfig(testConfig({ AWS_VPC_ENI_MTU: '1500', POD_MTU: '1400' })).mtu, 1400);
  t.is(netconfFromConfig(testConfig({ AWS_VPC_ENI_MTU: '1500' })).mtu, 1500);
});

test('install writes an executable (0755) that runs with an empty environment and the conflist (0644); a second run changes nothing', async (t) => {
  const dirs = await scratch(t);
  const first = await installCni(options(dirs));
  t.true(first.plugin.changed);
  t.true(first.conflist.changed);
  const plugin = join(dirs.binDir, 'aws-cni');
  t.is((await lstat(plugin)).mode & 0o7777, 0o755);
  t.is((await lstat(join(dirs.confDir, '10-aws.conflist'))).mode & 0o7777, 0o644);
  const ran = await execa(plugin, [], { env: {}, extendEnv: false });
  t.deepEqual(JSON.parse(ran.stdout), { argv: 2, env: [] });

  const second = await installCni(options(dirs));
  t.false(second.plugin.changed);
  t.false(second.conflist.changed);
  t.false(second.plugin.built, 'the executable comes from the cache');
  t.is(second.plugin.sha256, first.plugin.sha256);
  // Atomic replacement leaves no temporary file behind.
  t.deepEqual(await readdir(dirs.binDir), ['aws-cni']);
  t.deepEqual(await readdir(dirs.confDir), ['10-aws.conflist']);
});

test('a changed setting rewrites the conflist only; a changed bundle rebuilds and replaces the executable', async (t) => {
  const dirs = await scratch(t);
  await installCni(options(dirs));
  const mtu = await installCni(options(dirs, 1500));
  t.false(mtu.plugin.changed);
  t.true(mtu.conflist.changed);
  t.is(JSON.parse(await readFile(join(dirs.confDir, '10-aws.conflist'), 'utf8')).plugins[0].mtu, '1500');

  await writeFile(dirs.bundle, `${BUNDLE}// another build\n`);
  const rebuilt = await installCni(options(dirs, 1500));
  t.true(rebuilt.plugin.changed);
  t.false(rebuilt.conflist.changed);
});

test('a tampered or symlinked plugin, or a conflist with another mode, is replaced', async (t) => {
  const dirs = await scratch(t);
  await installCni(options(dirs));
  const plugin = join(dirs.binDir, 'aws-cni');
  await rm(plugin);
  await symlink('/bin/true', plugin);
  await execa('chmod', ['0666', join(dirs.confDir, '10-aws.conflist')]);
  const again = await installCni(options(dirs));
  t.true(again.plugin.changed);
  t.true(again.conflist.changed);
  t.true((await lstat(plugin)).isFile());
  t.is((await lstat(join(dirs.confDir, '10-aws.conflist'))).mode & 0o7777, 0o644);
});

test('refused paths name the value and the rule, and nothing is written', async (t) => {
  const dirs = await scratch(t);
  const cases: [Partial<InstallCniOptions>, RegExp][] = [
    [{ binDir: 'opt/cni/bin' }, /CNI bin dir "opt\/cni\/bin" is refused: it must be an absolute path/],
    [{ confDir: `${dirs.confDir}/../../etc` }, /CNI conf dir .* must not contain a \.\. segment/],
    [{ socketPath: `/run/${'s'.repeat(120)}.sock` }, /agent socket .* longer than 107 bytes/],
    [{ socketPath: '/run/a\nb.sock' }, /control character/],
    [{ binDir: '' }, /it is empty/],
    [{ binDir: join(dirs.binDir, 'missing') }, /CNI bin dir .*missing cannot be used: ENOENT/],
    [{ confDir: dirs.bundle }, /CNI conf dir .* is not a directory/],
  ];
  for (const [override, message] of cases) {
    const error = await t.throwsAsync(installCni({ ...options(dirs), ...override }), {
      instanceOf: InstallPathError,
    });
    t.regex(error!.message, message);
  }
  t.deepEqual(await readdir(dirs.binDir), []);
  t.deepEqual(await readdir(dirs.confDir), []);
});

test('checkPath normalises what it accepts (duplicate and trailing slashes, `.` segments)', (t) => {
  t.is(checkPath('x', '/opt//cni/./bin/'), '/opt/cni/bin');
  t.is(checkPath('x', '/'), '/');
  t.throws(() => checkPath('x', '/opt/cni/bin/..'), { message: /\.\. segment/ });
});
