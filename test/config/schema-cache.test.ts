import { chmod, copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import {
  catalogCacheFile,
  configSchemaFile,
  loadCatalog,
  prebuiltCatalogFile,
  writePrebuiltCatalog,
} from '../../src/config/schema.ts';

// CUE-in-wasm keeps process-global state and each evaluation takes a second: the tests run serially.
const mtuDefault = 'default: 9001, min: 576, max: 9001, readBy: ["entrypoint", "ipamd"]';

async function scratch(t: { teardown: (fn: () => Promise<void>) => void }) {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-cache-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const schema = join(dir, 'config.cue');
  await copyFile(configSchemaFile, schema);
  return { schema, cacheDir: join(dir, 'cache') };
}

test.serial('a changed schema is evaluated again, never served from the cache', async (t) => {
  const { schema, cacheDir } = await scratch(t);
  const before = await loadCatalog(schema, cacheDir);
  t.is(before.AWS_VPC_ENI_MTU?.default, 9001);
  const text = await readFile(schema, 'utf8');
  t.true(text.includes(mtuDefault));
  await writeFile(schema, text.replace(mtuDefault, mtuDefault.replace('default: 9001', 'default: 1500')));
  const after = await loadCatalog(schema, cacheDir);
  t.is(after.AWS_VPC_ENI_MTU?.default, 1500);
  t.is((await readdir(cacheDir)).filter((f) => f.endsWith('.json')).length, 2);
});

test.serial('the cache is used, private, and an entry that is corrupt or writable by others is ignored', async (t) => {
  const { schema, cacheDir } = await scratch(t);
  await loadCatalog(schema, cacheDir);
  const { file, key } = await catalogCacheFile(cacheDir, await readFile(schema, 'utf8'));
  t.is((await stat(cacheDir)).mode & 0o777, 0o700);
  t.is((await stat(file)).mode & 0o777, 0o600);

  // A marked entry under the right key is served: the cache really answers (so the refusals below mean something).
  const entry = JSON.parse(await readFile(file, 'utf8')) as { settings: Record<string, { doc: string }> };
  entry.settings.AWS_VPC_ENI_MTU!.doc = 'from the cache';
  await writeFile(file, JSON.stringify({ key, settings: entry.settings }), { mode: 0o600 });
  t.is((await loadCatalog(schema, cacheDir)).AWS_VPC_ENI_MTU?.doc, 'from the cache');

  await chmod(file, 0o666);
  t.not((await loadCatalog(schema, cacheDir)).AWS_VPC_ENI_MTU?.doc, 'from the cache');

  await writeFile(file, JSON.stringify({ key: 'another key', settings: entry.settings }), { mode: 0o600 });
  await chmod(file, 0o600);
  t.not((await loadCatalog(schema, cacheDir)).AWS_VPC_ENI_MTU?.doc, 'from the cache');

  for (const corrupt of ['{"key": "', JSON.stringify({ key, settings: { AWS_VPC_ENI_MTU: { kind: 'int' } } })]) {
    await writeFile(file, corrupt, { mode: 0o600 });
    t.is((await loadCatalog(schema, cacheDir)).AWS_VPC_ENI_MTU?.default, 9001, corrupt);
  }
});

test.serial('the prebuilt entry is served for its own schema text only; an edited schema is evaluated', async (t) => {
  const { schema, cacheDir } = await scratch(t);
  const prebuilt = join(cacheDir, '..', 'prebuilt.json');
  await writePrebuiltCatalog(schema, prebuilt);
  const entry = JSON.parse(await readFile(prebuilt, 'utf8')) as {
    key: string;
    settings: Record<string, { doc: string }>;
  };
  entry.settings.AWS_VPC_ENI_MTU!.doc = 'prebuilt';
  await writeFile(prebuilt, JSON.stringify(entry));

  t.is((await loadCatalog(schema, cacheDir, prebuilt)).AWS_VPC_ENI_MTU?.doc, 'prebuilt');
  await t.throwsAsync(readdir(cacheDir), { code: 'ENOENT' }, 'served without evaluating, so nothing was cached');

  const text = await readFile(schema, 'utf8');
  await writeFile(schema, text.replace(mtuDefault, mtuDefault.replace('default: 9001', 'default: 1500')));
  const edited = await loadCatalog(schema, cacheDir, prebuilt);
  t.is(edited.AWS_VPC_ENI_MTU?.default, 1500);
  t.not(edited.AWS_VPC_ENI_MTU?.doc, 'prebuilt');
});

test.serial('the build ships the prebuilt entry of the package schema (run `npm run build` first)', async (t) => {
  const { key } = await catalogCacheFile('', await readFile(configSchemaFile, 'utf8'));
  const entry = JSON.parse(await readFile(prebuiltCatalogFile, 'utf8')) as { key: string };
  t.is(entry.key, key, 'dist/catalog.json is stale: npm run build');
});
