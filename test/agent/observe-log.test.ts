import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createLog, logDestination, textLine } from '../../src/agent/log.ts';

test('JSON lines carry the level by name, the message and the fields', (t) => {
  const lines: string[] = [];
  const log = createLog((line) => lines.push(line), 'json', 'info');
  log.info('ready', { timeToReadyMs: 812 });
  t.is(lines.length, 1);
  t.true(lines[0]!.endsWith('\n'));
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.like(line, { level: 'info', msg: 'ready', timeToReadyMs: 812 });
  t.false(Number.isNaN(Date.parse(String(line.time))));
});

test('the level changes while the log is in use', (t) => {
  const lines: string[] = [];
  const log = createLog((line) => lines.push(line), 'json', 'warn');
  log.info('dropped');
  log.setLevel('debug');
  t.is(log.level, 'debug');
  log.debug('kept');
  log.setLevel('error');
  log.warn('dropped too');
  log.error('kept too');
  t.deepEqual(
    lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['kept', 'kept too'],
  );
});

test('text lines are for people: time, level, message, then key=value', (t) => {
  t.is(
    textLine('{"level":"warn","time":"2026-01-01T00:00:00.000Z","msg":"pool low","free":0,"eni":"eni-1"}'),
    '2026-01-01T00:00:00.000Z warn  pool low free=0 eni=eni-1\n',
  );
  const lines: string[] = [];
  createLog((line) => lines.push(line), 'text', 'debug').debug('apply step', { n: 2 });
  t.regex(lines[0]!, /^\S+Z debug apply step n=2\n$/);
});

test('AWS_VPC_K8S_CNI_LOG_FILE: stdout and stderr are the streams, a path is appended to', async (t) => {
  const out: string[] = [];
  const err: string[] = [];
  const streams = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s) };
  logDestination('stdout', streams)('a\n');
  logDestination('stderr', streams)('b\n');
  t.deepEqual([out, err], [['a\n'], ['b\n']]);
  const dir = await mkdtemp(join(tmpdir(), 'vc-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'aws-routed-eni', 'ipamd.log');
  createLog(logDestination(file, streams), 'json').info('first');
  createLog(logDestination(file, streams), 'json').info('second');
  const written = (await readFile(file, 'utf8')).trim().split('\n');
  t.deepEqual(
    written.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['first', 'second'],
  );
});
