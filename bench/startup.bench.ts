// CLI start-up as a user sees it: wall time of whole processes (bin → bundle in dist/, `npm run build` first) against
// a bare `node -e 0` measured in the same run, and each command's peak memory. The CUE catalog cache is a fresh
// directory: "cold" runs empty it first, "warm" runs find the entry the previous run wrote.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

const example = [
  '--node',
  'examples/nodes/m5-large-single-eni.json',
  '--configmap',
  'examples/configs/defaults/configmap.yaml',
];
const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, VPC_CNI_CACHE_DIR: cacheDir };

interface Case {
  readonly name: string;
  readonly command: readonly string[];
  readonly cold?: boolean;
}
const cases: readonly Case[] = [
  { name: '--help', command: [bin, '--help'] },
  { name: '--version', command: [bin, '--version'] },
  { name: 'max-pods', command: [bin, 'max-pods', '--instance-type', 'm5.large'] },
  { name: 'validate (cold cache)', command: [bin, 'validate'], cold: true },
  { name: 'validate (warm cache)', command: [bin, 'validate'] },
  { name: 'plan example (cold cache)', command: [bin, 'plan', ...example], cold: true },
  { name: 'plan example (warm cache)', command: [bin, 'plan', ...example] },
];

async function once(command: readonly string[], extraEnv: Record<string, string> = {}): Promise<number> {
  const start = performance.now();
  const [file, ...args] = command;
  const result = await execa(file!, args, { cwd: root, env: { ...env, ...extraEnv }, extendEnv: false, reject: false });
  if (result.exitCode !== 0 && result.exitCode !== 2) throw new Error(`${command.join(' ')}: ${result.stderr}`);
  return performance.now() - start;
}

async function p50(c: Case, runs: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (c.cold) await rm(cacheDir, { recursive: true, force: true });
    times.push(await once(c.command));
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
}

async function maxRssMb(c: Case): Promise<number> {
  if (c.cold) await rm(cacheDir, { recursive: true, force: true });
  await once(c.command, { NODE_OPTIONS: `--require ${rssProbe}` });
  return Number(await readFile(rssFile, 'utf8')) / 1024;
}

const baseline = await p50({ name: 'node -e 0', command: [process.execPath, '-e', '0'] }, 21);
console.log(`baseline: bare \`node -e 0\` p50 ${baseline.toFixed(0)} ms (Node ${process.versions.node})`);
console.log(`${'case'.padEnd(28)} ${'p50 ms'.padStart(8)} ${'× bare'.padStart(8)} ${'maxRSS MB'.padStart(10)}`);
for (const c of cases) {
  const time = await p50(c, c.cold ? 3 : 11);
  const rss = await maxRssMb(c);
  console.log(
    `${c.name.padEnd(28)} ${time.toFixed(0).padStart(8)} ${(time / baseline).toFixed(1).padStart(8)} ${rss.toFixed(0).padStart(10)}`,
  );
}
await rm(scratch, { recursive: true, force: true });
