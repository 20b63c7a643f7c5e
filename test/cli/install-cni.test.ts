import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';

// `vpc-cni install-cni` through the real bin, as an operator or an init container runs it.
const bin = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;
const path = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const run = (args: string[], env: Record<string, string> = {}) =>
  execa(bin, ['install-cni', ...args], { env: { PATH: path, ...env }, extendEnv: false, reject: false });

async function dirs(t: ExecutionContext): Promise<{ bin: string; conf: string }> {
  const root = await mkdtemp(join(tmpdir(), 'vpc-cni-install-cli-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'bin'));
  await mkdir(join(root, 'net.d'));
  return { bin: join(root, 'bin'), conf: join(root, 'net.d') };
}

test('install-cni --help names the files, the settings behind the netconf and the defaults', async (t) => {
  const result = await run(['--help']);
  t.is(result.exitCode, 0);
  for (const text of ['10-aws.conflist', 'AWS_VPC_K8S_CNI_VETHPREFIX', 'HOST_CNI_BIN_PATH', '--socket', 'atomically'])
    t.true(result.stdout.includes(text), text);
});

test('install-cni refuses a relative bin dir and a socket with a .. segment, exit 1, nothing written', async (t) => {
  const d = await dirs(t);
  const relative = await run(['--bin-dir', 'opt/cni/bin', '--conf-dir', d.conf]);
  t.is(relative.exitCode, 1);
  t.regex(relative.stderr, /the CNI bin dir "opt\/cni\/bin" is refused: it must be an absolute path/);
  const socket = await run(['--bin-dir', d.bin, '--conf-dir', d.conf, '--socket', '/run/../tmp/agent.sock']);
  t.is(socket.exitCode, 1);
  t.regex(
    socket.stderr,
    /the agent socket "\/run\/\.\.\/tmp\/agent\.sock" is refused: it must not contain a \.\. segment/,
  );
  t.deepEqual([...(await readdir(d.bin)), ...(await readdir(d.conf))], []);
});

test('install-cni with an invalid setting prints the setting and writes nothing (exit 1)', async (t) => {
  const d = await dirs(t);
  const result = await run(['--bin-dir', d.bin, '--conf-dir', d.conf], { AWS_VPC_K8S_CNI_VETHPREFIX: 'toolong' });
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /AWS_VPC_K8S_CNI_VETHPREFIX/);
  t.deepEqual([...(await readdir(d.bin)), ...(await readdir(d.conf))], []);
});
