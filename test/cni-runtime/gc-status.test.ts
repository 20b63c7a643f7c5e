import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { canBuildCniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';

// GC and STATUS are not in Debian's libcni 1.1, so the test runtime adds them as libcni 1.2 does; this pins what a
// plugin receives from them, with a plugin that records its environment and stdin.
const runnable = await canBuildCniRuntime();
const maybe = runnable ? test : test.skip;
const why = runnable ? '' : ' (skipped: needs golang-go + golang-github-appc-cni-dev)';

async function recorder(t: ExecutionContext, cniVersion: string) {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-rt-gc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.jsonl');
  const plugin = join(dir, 'recorder');
  // An absolute interpreter: the runtime gives plugins an empty environment, so `env node` would find nothing.
  await writeFile(
    plugin,
    `#!${process.execPath}\nconst fs = require('node:fs');\nconst stdin = fs.readFileSync(0, 'utf8');\n` +
      `fs.appendFileSync(${JSON.stringify(log)}, JSON.stringify({ command: process.env.CNI_COMMAND, env: Object.keys(process.env).sort(), conf: JSON.parse(stdin) }) + '\\n');\n`,
  );
  await chmod(plugin, 0o755);
  await writeFile(
    join(dir, '10-rec.conflist'),
    JSON.stringify({ cniVersion, name: 'rec', plugins: [{ type: 'recorder' }] }),
  );
  const runtime = await cniRuntime({ confDir: dir, network: 'rec', binDirs: [dir], cacheDir: join(dir, 'cache') });
  const calls = async () =>
    (await readFile(log, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { command: string; env: string[]; conf: Record<string, unknown> });
  return { runtime, calls };
}

maybe(
  `GC passes the valid attachments and STATUS the list's config, with only CNI_* in the environment${why}`,
  async (t) => {
    const { runtime, calls } = await recorder(t, '1.1.0');
    t.true((await runtime.gc([{ containerId: 'c1' }, { containerId: 'c2', ifName: 'net1' }])).ok);
    t.true((await runtime.status()).ok);
    const [gc, status] = await calls();
    t.is(gc!.command, 'GC');
    t.like(gc!.conf, {
      name: 'rec',
      cniVersion: '1.1.0',
      type: 'recorder',
      'cni.dev/valid-attachments': [
        { containerID: 'c1', ifname: 'eth0' },
        { containerID: 'c2', ifname: 'net1' },
      ],
    });
    t.true(
      gc!.env.every((k) => k.startsWith('CNI_')),
      gc!.env.join(' '),
    );
    t.is(status!.command, 'STATUS');
    t.like(status!.conf, { name: 'rec', cniVersion: '1.1.0' });
  },
);

maybe(
  `a list older than 1.1.0 (10-aws.conflist says 0.4.0) gets no GC or STATUS, as libcni 1.2 behaves${why}`,
  async (t) => {
    const { runtime, calls } = await recorder(t, '0.4.0');
    t.true((await runtime.gc([])).ok);
    t.true((await runtime.status()).ok);
    t.deepEqual(await calls(), []);
  },
);
