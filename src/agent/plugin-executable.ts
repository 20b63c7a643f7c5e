/**
 * The `aws-cni` plugin as one self-contained executable: a Node single executable application (SEA) of the plugin's
 * single-file bundle, started from a V8 snapshot of its loaded module graph, made from the Node binary that runs this
 * process. Hosts run the plugin
 * outside the container and have no Node.js, so nothing it needs may live outside that one file.
 *
 * Injecting the blob rewrites a ~125 MB binary (about 5 s), so the result is cached, keyed by what it is made of: the
 * bundle's bytes and the Node binary's identity. Nothing is downloaded: the base is `process.execPath`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout } from 'node:timers/promises';
import { execa } from 'execa';
import { defaultCacheDir } from '../config/cache-dir.ts';
import { packageFile } from '../data/files.ts';

/** The plugin's single-file CommonJS bundle that scripts/build.ts writes (SEA mains are one script). */
export const PLUGIN_BUNDLE = 'aws-cni.sea.cjs';
/** The resource name and sentinel Node's SEA loader looks for (documented in Node's single-executable-applications). */
const SEA_RESOURCE = 'NODE_SEA_BLOB';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
/** Executables kept in the cache (the current one, the one before, another checkout's) beyond the recently used. */
const KEEP = 3;
/** An entry used this recently may be about to be copied by another process, so it is never pruned. */
const IN_USE_MS = 10 * 60_000;
const requireHere = createRequire(import.meta.url);

export interface PluginExecutable {
  /** The executable in the cache; copy it, never move it. */
  readonly path: string;
  /** sha256 of the executable, to tell whether an installed copy is this one without rebuilding. */
  readonly sha256: string;
  /** True when this call built it (otherwise it came from the cache). */
  readonly built: boolean;
  /** Wall time of the build, when built. */
  readonly buildMs?: number;
}

export interface PluginExecutableOptions {
  readonly cacheDir?: string;
  /** The single-file bundle (default: dist/aws-cni.sea.cjs of this package). */
  readonly bundle?: string;
  /** The Node binary to build from and into (default: the one running this process). */
  readonly node?: string;
}

async function cacheKey(bundle: Buffer, node: string): Promise<string> {
  const info = await stat(node);
  return createHash('sha256')
    .update(bundle)
    .update(`\0${node}\0${info.size}\0${info.mtimeMs}`)
    .digest('hex')
    .slice(0, 20);
}

/**
 * One reused 1 MiB buffer: the executable is a ~120 MB Node binary, and a read stream's fresh 64 KiB chunk per read
 * leaves the long-running agent ~60 MiB more resident after its start-up install (freed by V8, kept by malloc).
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const file = await open(path, 'r');
  const buffer = Buffer.allocUnsafeSlow(1 << 20);
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

/** Removes the least recently used executables beyond KEEP (each is the size of a Node binary). */
async function prune(dir: string): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /^aws-cni-[0-9a-f]{20}$/.test(n));
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(join(dir, n))).mtimeMs })));
  for (const { n, t } of dated.sort((a, b) => b.t - a.t).slice(KEEP)) {
    if (Date.now() - t > IN_USE_MS) await rm(join(dir, n), { force: true });
  }
}

/** A cache hit: the hit, and the time it was used (the mtime prune goes by). */
async function hit(target: string): Promise<PluginExecutable> {
  const now = new Date();
  await utimes(target, now, now);
  return { path: target, sha256: await sha256File(target), built: false };
}

/** Longer than any build takes: a lock this old was left by a builder that died without its finally. */
const STALE_LOCK_MS = 120_000;

/** An exclusive lock file (O_EXCL), waited for while another builder holds it; stale ones are broken. */
async function lock(path: string): Promise<() => Promise<void>> {
  for (;;) {
    try {
      await (await open(path, 'wx')).close();
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await stat(path).catch(() => undefined);
    if (held !== undefined && Date.now() - held.mtimeMs > STALE_LOCK_MS) await rm(path, { force: true });
    else await setTimeout(200);
  }
}

async function build(bundlePath: string, node: string, dir: string, target: string): Promise<void> {
  const work = join(dir, `build-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(work);
  try {
    const blob = join(work, 'sea.blob');
    const seaConfig = join(work, 'sea.json');
    await writeFile(
      seaConfig,
      // The snapshot holds the heap after the bundle's modules have loaded (zod's schemas above all): a run deserialises
      // it instead of evaluating them, which costs a pod's start more than its whole wiring (bench/cni.bench.ts).
      JSON.stringify({ main: bundlePath, output: blob, disableExperimentalSEAWarning: true, useSnapshot: true }),
    );
    // A V8 snapshot is only valid for the V8 that made it, so the same binary makes the blob and hosts it.
    const made = await execa(node, ['--experimental-sea-config', seaConfig], {
      env: {},
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    // Node warns, and builds anyway, when the bundle loads a built-in module whose state it cannot restore from a
    // snapshot: such a plugin may misbehave on some pod far from here, so it is a failed build.
    if (made.exitCode !== 0 || /not yet fully verified/.test(made.stderr))
      throw new Error(
        `${node} --experimental-sea-config failed (exit ${made.exitCode}): ${made.stderr.slice(0, 2000)}`,
      );
    const exe = join(work, 'aws-cni');
    await copyFile(node, exe);
    await chmod(exe, 0o755);
    // postject in a child: it prints progress and LIEF warnings, and its 5 MB WebAssembly has no business in the agent.
    const injected = await execa(
      node,
      [requireHere.resolve('postject/dist/cli.js'), exe, SEA_RESOURCE, blob, '--sentinel-fuse', SEA_FUSE],
      { env: {}, extendEnv: false, reject: false, stdin: 'ignore' },
    );
    if (injected.exitCode !== 0)
      throw new Error(
        `cannot make ${node} a single executable (is it an official Node build?): ${injected.stderr.slice(-2000)}`,
      );
    await rename(exe, target);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The plugin executable for the current bundle and Node binary: from the cache, or built (and cached) now. */
export async function pluginExecutable(opts: PluginExecutableOptions = {}): Promise<PluginExecutable> {
  const bundlePath = opts.bundle ?? packageFile('dist', PLUGIN_BUNDLE);
  const node = opts.node ?? process.execPath;
  const bundle = await readFile(bundlePath).catch((error: NodeJS.ErrnoException) => {
    throw new Error(
      error.code === 'ENOENT'
        ? `the plugin bundle ${bundlePath} is missing: \`npm run build\` (or \`npm ci\`) makes it`
        : `cannot read the plugin bundle ${bundlePath}: ${error.message}`,
    );
  });
  const dir = join(opts.cacheDir ?? defaultCacheDir(), 'aws-cni');
  await mkdir(dir, { recursive: true });
  const target = join(dir, `aws-cni-${await cacheKey(bundle, node)}`);
  const cached = async () => (await stat(target).catch(() => undefined))?.isFile() === true;
  if (await cached()) return hit(target);
  // One builder per key: the snapshot differs from build to build, and a second build renamed over the first
  // would change the bytes under an installer that has just hashed them.
  const release = await lock(`${target}.lock`);
  try {
    if (await cached()) return hit(target);
    const start = performance.now();
    await build(bundlePath, node, dir, target);
    const buildMs = performance.now() - start;
    await prune(dir);
    return { path: target, sha256: await sha256File(target), built: true, buildMs };
  } finally {
    await release();
  }
}
