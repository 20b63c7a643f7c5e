import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { readBoundedFile, UnreadableFileError } from '../../src/node/bounded-file.ts';

test('a regular file within the bound is read; a missing one is undefined', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vc-bounded-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'a.json'), '{"ok":true}');
  t.is(await readBoundedFile(join(dir, 'a.json'), 11), '{"ok":true}');
  t.is(await readBoundedFile(join(dir, 'missing.json'), 11), undefined);
});

test('a larger file, a directory, a device and a FIFO are refused without being read', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vc-bounded-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'big'), 'x'.repeat(12));
  await execa('mkfifo', [join(dir, 'fifo')]);
  const refused = async (path: string) =>
    (await t.throwsAsync(readBoundedFile(path, 11), { instanceOf: UnreadableFileError })).kind;
  t.is(await refused(join(dir, 'big')), 'too_large');
  t.is(await refused(dir), 'not_regular');
  t.is(await refused('/dev/zero'), 'not_regular');
  // A FIFO with no writer would block a plain open or read forever.
  t.is(await refused(join(dir, 'fifo')), 'not_regular');
});
