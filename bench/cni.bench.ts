// CNI plugin cost as the container runtime pays it: whole-process wall times through the libcni test runtime
// (test/fixtures/cni-runtime), in namespaces this bench creates. Floors: a bare Node 24 start and the plugin's
// VERSION (the single executable, and `node dist/aws-cni.js`). Baseline: Debian's ptp + host-local doing the same
// veth + address wiring, ADD and DEL p50/p99, sequential and 10-way concurrent. Needs root (skips, saying so).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { PLUGIN_BUNDLE, pluginExecutable } from '../src/agent/plugin-executable.ts';
import { packageFile } from '../src/data/files.ts';
import { type CniRuntime, canBuildCniRuntime, cniRuntime, cniRuntimeBinary } from '../test/helpers/cni-runtime.ts';
import { createNetns, type TestNetns } from '../test/helpers/netns.ts';

const SEQUENTIAL = 40;
const CONCURRENT_PODS = 40;
const CONCURRENCY = 10;
const STARTS = 21;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ms = (n: number) => n.toFixed(1).padStart(8);

async function timed(run: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await run();
  return performance.now() - start;
}

/** p50 wall time of a process started STARTS times with an empty environment. */
async function startP50(file: string, args: readonly string[], env: Record<string, string> = {}): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    times.push(
      await timed(async () => {
        const r = await execa(file, args, { env, extendEnv: false, reject: false, stdin: 'ignore' });
        if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode} ${r.stdout} ${r.stderr}`);
      }),
    );
  }
  return percentile(times, 50);
}

// The namespace helpers of the tests, with this list in place of ava's teardown.
const cleanup: (() => Promise<unknown>)[] = [];
const context = { teardown: (fn: () => Promise<unknown>) => cleanup.push(fn) } as unknown as ExecutionContext;

interface Figures {
  readonly add: readonly number[];
  readonly del: readonly number[];
}

interface Plugin {
  readonly label: string;
  readonly runtime: CniRuntime;
}

/** ADD then DEL of `count` fresh pod namespaces, `concurrency` at a time; per-operation wall times. */
async function addDel(plugin: Plugin, count: number, concurrency: number): Promise<Figures> {
  const pods: { ns: TestNetns; containerId: string }[] = [];
  for (let i = 0; i < count; i++)
    pods.push({ ns: await createNetns(context, 'bpod'), containerId: `b${randomBytes(8).toString('hex')}` });
  const add: number[] = [];
  const del: number[] = [];
  const each = async (op: 'add' | 'del', into: number[]) => {
    let next = 0;
    const worker = async () => {
      while (next < pods.length) {
        const pod = pods[next++]!;
        const attachment = { containerId: pod.containerId, netns: pod.ns.path };
        into.push(
          await timed(async () => {
            const reply = await plugin.runtime[op](attachment);
            if (!reply.ok) throw new Error(`${plugin.label} ${op}: ${JSON.stringify(reply.error)}`);
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await each('add', add);
  await each('del', del);
  return { add, del };
}

function row(label: string, f: Figures): string {
  return `${label.padEnd(40)} ${ms(percentile(f.add, 50))} ${ms(percentile(f.add, 99))} ${ms(percentile(f.del, 50))} ${ms(percentile(f.del, 99))}`;
}

async function ptpHostLocal(scratch: string, node: TestNetns): Promise<Plugin> {
  const confDir = join(scratch, 'ptp');
  await execa('/usr/bin/mkdir', ['-p', confDir]);
  const plugins = [
    {
      type: 'ptp',
      mtu: 9001,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.232.0.0/16' }]],
        routes: [{ dst: '0.0.0.0/0' }],
        dataDir: join(scratch, 'ipam'),
      },
    },
  ];
  await writeFile(
    join(confDir, '10-ptp.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'ptp-bench', plugins }),
  );
  const runtime = await cniRuntime({
    confDir,
    network: 'ptp-bench',
    binDirs: [],
    cacheDir: join(scratch, 'cache-ptp'),
    nodeNetns: node.name,
  });
  return { label: 'ptp + host-local', runtime };
}

// ---------------------------------------------------------------------------------------------------------------
// aws-cni against a running agent: returns the plugin to measure, or undefined while there is no agent to run.
// To fill in once `vpc-cni agent --netns NAME --state-dir DIR` exists: start the simulators with this node
// namespace (startSimulators({ nodeNetns }) in src/sim), start the agent in it, installCni() into a bin/conf dir
// with the agent's socket, and return cniRuntime({ confDir, network: 'aws-cni', binDirs: [binDir], ... }).
async function awsCniAgainstAgent(_scratch: string, _node: TestNetns): Promise<Plugin | undefined> {
  return undefined;
}
// ---------------------------------------------------------------------------------------------------------------

const VERSION_ENV = { CNI_COMMAND: 'VERSION' };

/** The single executable's VERSION start-up (built now into this run's fresh cache: its build time is a figure too). */
async function seaFloor(bare: number): Promise<number | undefined> {
  if ((await stat(packageFile('dist', PLUGIN_BUNDLE)).catch(() => undefined)) === undefined) {
    console.log(`  aws-cni VERSION, single executable     not measured: dist/${PLUGIN_BUNDLE} is not built`);
    return undefined;
  }
  const built = await pluginExecutable();
  const size = (await stat(built.path)).size >> 20;
  if (built.built)
    console.log(`  (single executable built in ${((built.buildMs ?? 0) / 1000).toFixed(1)} s, ${size} MiB)`);
  const sea = await startP50(built.path, [], VERSION_ENV);
  console.log(`  aws-cni VERSION, single executable     ${ms(sea)} ms  ${(sea / bare).toFixed(2)}× bare`);
  return sea;
}

async function main(): Promise<void> {
  const node24 = process.execPath;
  const bare = await startP50(node24, ['-e', '0']);
  console.log(`floors (p50 of ${STARTS} starts, empty environment, Node ${process.versions.node}):`);
  console.log(`  bare \`node -e 0\`                       ${ms(bare)} ms`);

  const sea = await seaFloor(bare);
  const bundle = packageFile('dist', 'aws-cni.js');
  if ((await stat(bundle).catch(() => undefined)) !== undefined) {
    const viaNode = await startP50(node24, [bundle], VERSION_ENV);
    console.log(`  aws-cni VERSION, node dist/aws-cni.js   ${ms(viaNode)} ms  ${(viaNode / bare).toFixed(2)}× bare`);
  } else console.log('  aws-cni VERSION, node dist/aws-cni.js   not measured: dist/aws-cni.js is not built');

  if (process.getuid?.() !== 0 || !(await canBuildCniRuntime())) {
    console.log('ADD/DEL skipped: needs root (network namespaces) and golang-go + golang-github-appc-cni-dev');
    return;
  }
  await cniRuntimeBinary();
  const scratch = await mkdtemp(join(tmpdir(), 'vpc-cni-cni-bench-'));
  cleanup.push(() => rm(scratch, { recursive: true, force: true }));
  const node = await createNetns(context, 'bnode');

  const plugins = [await ptpHostLocal(scratch, node)];
  const ours = await awsCniAgainstAgent(scratch, node);
  if (ours !== undefined) plugins.push(ours);
  else console.log('aws-cni ADD/DEL: not measured (no agent to run it against yet)');

  console.log(
    `\nthrough libcni (ms, whole runtime process each): ${SEQUENTIAL} pods sequential, ${CONCURRENT_PODS} ${CONCURRENCY}-way`,
  );
  console.log(
    `${'case'.padEnd(40)} ${'ADD p50'.padStart(8)} ${'ADD p99'.padStart(8)} ${'DEL p50'.padStart(8)} ${'DEL p99'.padStart(8)}`,
  );
  const results = new Map<string, { seq: Figures; par: Figures }>();
  for (const plugin of plugins) {
    const seq = await addDel(plugin, SEQUENTIAL, 1);
    console.log(row(`${plugin.label}, sequential`, seq));
    const par = await addDel(plugin, CONCURRENT_PODS, CONCURRENCY);
    console.log(row(`${plugin.label}, ${CONCURRENCY}-way`, par));
    results.set(plugin.label, { seq, par });
  }
  const baseline = results.get('ptp + host-local')!;
  const mine = ours === undefined ? undefined : results.get(ours.label);
  if (mine !== undefined && sea !== undefined) {
    // The plugin's own work: its ADD minus its bare start-up (VERSION), against ptp + host-local's whole ADD.
    const own = percentile(mine.seq.add, 50) - sea;
    const whole = percentile(baseline.seq.add, 50);
    console.log(
      `\naws-cni own work (ADD p50 − VERSION p50) ${ms(own)} ms vs ptp + host-local ADD p50 ${ms(whole)} ms: ${(own / whole).toFixed(2)}×`,
    );
    console.log(
      `aws-cni ADD p50 / ptp + host-local ADD p50, ${CONCURRENCY}-way: ${(percentile(mine.par.add, 50) / percentile(baseline.par.add, 50)).toFixed(2)}×`,
    );
  }
}

try {
  await main();
} finally {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
}
