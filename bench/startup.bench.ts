// CLI start-up as a user sees it: wall time of whole processes (bin → bundle in dist/, `npm run build` first) as a
// ratio to a bare `node -e 0` measured in the same run, each command's peak memory, and the targets of issue 8.
// The cache directory is fresh: "first run" cases empty it (no CUE catalog, no V8 code cache), "warm" cases find
// what the previous run wrote. A first run of the package uses the catalog the build evaluated (dist/catalog.json);
// the "schema edited" cases run a copy of the package whose schema differs by a comment, so CUE evaluates it.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'vpc-cni.js');
const scratch = await mkdtemp(join(tmpdir(), 'vpc-cni-startup-bench-'));
const cacheDir = join(scratch, 'cache');
const rssFile = join(scratch, 'rss');
// Loaded only into the one run per case that reports memory, so the timed runs carry nothing extra.
const rssProbe = join(scratch, 'rss.cjs');
await writeFile(
  rssProbe,
  `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`,
);

// The package with an edited schema: the same files, node_modules shared, one comment line more in config.cue.
const edited = join(scratch, 'edited');
await mkdir(join(edited, 'schema'), { recursive: true });
for (const part of ['bin', 'dist', 'package.json']) await cp(join(root, part), join(edited, part), { recursive: true });
await symlink(join(root, 'node_modules'), join(edited, 'node_modules'));
const schema = await readFile(join(root, 'schema', 'config.cue'), 'utf8');
await writeFile(join(edited, 'schema', 'config.cue'), `${schema}\n// edited\n`);
const editedBin = join(edited, 'bin', 'vpc-cni.js');

const example = [
  '--node',
  'examples/nodes/m5-large-single-eni.json',
  '--configmap',
  'examples/configs/defaults/configmap.yaml',
  // The bench host is not the example node: read its real state anyway, as the plan being timed does.
  '--allow-foreign-node',
];
const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, VPC_CNI_CACHE_DIR: cacheDir };

/** What issue 8 asks of a case: at most `times` a bare start, at most `ms`, peak memory under `mb`. */
interface Target {
  readonly times?: number;
  readonly ms?: number;
  readonly mb?: number;
}
interface Case {
  readonly name: string;
  readonly command: readonly string[];
  readonly firstRun?: boolean;
  readonly target?: Target;
}
const cases: readonly Case[] = [
  { name: '--help', command: [bin, '--help'], target: { times: 4 } },
  { name: '--version', command: [bin, '--version'], target: { times: 4 } },
  { name: 'max-pods', command: [bin, 'max-pods', '--instance-type', 'm5.large'], target: { times: 4, mb: 100 } },
  { name: 'validate, first run', command: [bin, 'validate'], firstRun: true, target: { ms: 1000 } },
  { name: 'validate, warm', command: [bin, 'validate'], target: { ms: 250 } },
  { name: 'plan, first run', command: [bin, 'plan', ...example], firstRun: true, target: { ms: 1000, mb: 100 } },
  { name: 'plan, warm', command: [bin, 'plan', ...example], target: { ms: 250, mb: 100 } },
  { name: 'validate, schema edited', command: [editedBin, 'validate'], firstRun: true, target: { ms: 1000 } },
  { name: 'plan, schema edited', command: [editedBin, 'plan', ...example], firstRun: true, target: { ms: 1000 } },
];

async function once(command: readonly string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const start = performance.now();
  const [file, ...args] = command;
  const result = await execa(file!, args, { cwd: root, env: { ...env, ...extraEnv }, extendEnv: false, reject: false });
  if (result.exitCode !== 0 && result.exitCode !== 2) throw new Error(`${command.join(' ')}: ${result.stderr}`);
  return performance.now() - start;
}

async function p50(c: Pick<Case, 'command' | 'firstRun'>, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (c.firstRun) await rm(cacheDir, { recursive: true, force: true });
    times.push(await once(c.command));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function maxRssMb(c: Case): Promise<number> {
  if (c.firstRun) await rm(cacheDir, { recursive: true, force: true });
  await once(c.command, { NODE_OPTIONS: `--require ${rssProbe}` });
  return Number(await readFile(rssFile, 'utf8')) / 1024;
}

/** "≤ 4× bare ok, < 100 MB ok", or MISSED after the figure that is over. */
function verdict(target: Target | undefined, time: number, ratio: number, rss: number): string {
  if (target === undefined) return '';
  const parts: string[] = [];
  if (target.times !== undefined) parts.push(`≤ ${target.times}× bare ${ratio <= target.times ? 'ok' : 'MISSED'}`);
  if (target.ms !== undefined) parts.push(`≤ ${target.ms} ms ${time <= target.ms ? 'ok' : 'MISSED'}`);
  if (target.mb !== undefined) parts.push(`< ${target.mb} MB ${rss < target.mb ? 'ok' : 'MISSED'}`);
  return parts.join(', ');
}

// Wall times on a busy machine are not start-up times: the load average says how far to trust the figures.
const load = () => loadavg()[0]!.toFixed(2);
console.log(`load average at start ${load()}`);
const baseline = await p50({ command: [process.execPath, '-e', '0'] }, 21);
const bareRss = await maxRssMb({ name: 'node -e 0', command: [process.execPath, '-e', '0'] });
console.log(
  `baseline: bare \`node -e 0\` p50 ${baseline.toFixed(0)} ms, maxRSS ${bareRss.toFixed(0)} MB (Node ${process.versions.node})`,
);
console.log(
  `${'case'.padEnd(26)} ${'p50 ms'.padStart(7)} ${'× bare'.padStart(7)} ${'maxRSS MB'.padStart(10)}  target (issue 8)`,
);
for (const c of cases) {
  const time = await p50(c, c.firstRun ? 5 : 11);
  const rss = await maxRssMb(c);
  const ratio = time / baseline;
  console.log(
    `${c.name.padEnd(26)} ${time.toFixed(0).padStart(7)} ${ratio.toFixed(1).padStart(7)} ${rss.toFixed(0).padStart(10)}  ${verdict(c.target, time, ratio, rss)}`,
  );
}
console.log(`load average at end ${load()}`);
await rm(scratch, { recursive: true, force: true });
