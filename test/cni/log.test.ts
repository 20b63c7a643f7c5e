import { mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { MAX_LOG_BYTES, writePluginLog } from '../../src/cni/log.ts';

async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-plugin-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const at = new Date('2026-12-03T10:00:00.000Z');

test('the first line creates the log directory and the file (0600); later lines append', async (t) => {
  const file = join(await scratch(t), 'aws-routed-eni', 'plugin.log');
  writePluginLog(file, 'debug', { level: 'info', msg: 'ADD ok', ms: 3 }, at);
  writePluginLog(file, 'debug', { level: 'error', msg: 'DEL failed' }, at);
  const lines = (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.deepEqual(lines, [
    { time: at.toISOString(), level: 'info', msg: 'ADD ok', ms: 3 },
    { time: at.toISOString(), level: 'error', msg: 'DEL failed' },
  ]);
  t.is((await stat(file)).mode & 0o777, 0o600);
});

test('below the level nothing is written; past MAX_LOG_BYTES the file is rotated to .1', async (t) => {
  const file = join(await scratch(t), 'plugin.log');
  writePluginLog(file, 'warn', { level: 'info', msg: 'quiet' }, at);
  t.is(await stat(file).catch(() => undefined), undefined);
  await writeFile(file, '');
  await truncate(file, MAX_LOG_BYTES + 1);
  writePluginLog(file, 'debug', { level: 'info', msg: 'fresh' }, at);
  t.is((await stat(`${file}.1`)).size, MAX_LOG_BYTES + 1);
  t.regex(await readFile(file, 'utf8'), /^\{"time":[^\n]*"msg":"fresh"\}\n$/);
});

test('a symlink planted at the log path is not followed: the line is dropped and the target untouched', async (t) => {
  const dir = await scratch(t);
  const target = join(dir, 'shadow');
  await writeFile(target, 'root:x:0:0\n');
  const file = join(dir, 'plugin.log');
  await symlink(target, file);
  t.notThrows(() => writePluginLog(file, 'debug', { level: 'info', msg: 'ADD ok' }, at));
  t.is(await readFile(target, 'utf8'), 'root:x:0:0\n');
});
