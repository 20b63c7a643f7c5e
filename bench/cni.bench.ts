// CNI plugin cost as the container runtime pays it: whole-process wall times through the libcni test runtime
// (test/fixtures/cni-runtime), in namespaces this bench creates. Floors: a bare Node 24 start, an empty single
// executable (the runtime's own floor) and the plugin's VERSION (the single executable, and node + bundle). Baseline: Debian's ptp + host-local doing the same
// veth + address wiring, against aws-cni alone (and, for the record, the installed chain with portmap), ADD and DEL
// p50/p99, sequential and 10-way concurrent. Needs root (skips, saying so).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { startAgent } from '../src/agent/agent.ts';
import { NETWORK_NAME } from '../src/agent/conflist.ts';
import { createLog } from '../src/agent/log.ts';
import { PLUGIN_BUNDLE, pluginExecutable } from '../src/agent/plugin-executable.ts';
import { testConfig } from '../src/compiler/settings/index.ts';
import { packageFile } from '../src/data/files.ts';
import { startSimulators } from '../src/sim/index.ts';
import { type CniRuntime, canBuildCniRuntime, cniRuntime, cniRuntimeBinary } from '../test/helpers/cni-runtime.ts';
import { createNetns, type TestNetns } from '../test/helpers/netns.ts';

/** tmpfs on any Linux host. */
const TMPFS = '/dev/shm';
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

/** A process whose start-up is a floor: started with an empty environment and stdin, and expected to exit 0. */
interface Start {
  readonly file: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
}

/** p50 wall time of each start, STARTS times, taking turns start by start so the machine's drift falls on all. */
async function startsP50(starts: readonly Start[]): Promise<number[]> {
  const times = starts.map(() => [] as number[]);
  for (let i = 0; i < STARTS; i++) {
    for (const [n, { file, args, env = {} }] of starts.entries()) {
      times[n]!.push(
        await timed(async () => {
          const r = await execa(file, args, { env, extendEnv: false, reject: false, stdin: 'ignore' });
          if (r.exitCode !== 0)
            throw new Error(`${file} ${args.join(' ')}: exit ${r.exitCode} ${r.stdout} ${r.stderr}`);
        }),
      );
    }
  }
  return times.map((t) => percentile(t, 50));
}

// The namespace helpers of the tests, with this list in place of ava's teardown.
const cleanup: (() => Promise<unknown>)[] = [];
const context = { teardown: (fn: () => Promise<unknown>) => cleanup.push(fn) } as unknown as ExecutionContext;

interface Figures {
  readonly add: readonly number[];
  readonly del: readonly number[];
  /** Sequential runs only: a VERSION through the runtime just before each ADD, the start-up that ADD paid too. */
  readonly version: readonly number[];
}

interface Plugin {
  readonly label: string;
  readonly runtime: CniRuntime;
}

interface Pod {
  readonly ns: TestNetns;
  readonly containerId: string;
}

async function freshPods(count: number): Promise<Pod[]> {
  const pods: Pod[] = [];
  for (let i = 0; i < count; i++)
    pods.push({ ns: await createNetns(context, 'bpod'), containerId: `b${randomBytes(8).toString('hex')}` });
  return pods;
}

async function call(plugin: Plugin, op: 'add' | 'del' | 'version', pod: Pod): Promise<void> {
  const attachment = { containerId: pod.containerId, netns: pod.ns.path };
  const reply = await (op === 'version' ? plugin.runtime.version() : plugin.runtime[op](attachment));
  if (!reply.ok) throw new Error(`${plugin.label} ${op}: ${JSON.stringify(reply.error)}`);
}

/**
 * ADD then DEL of `count` fresh pod namespaces per plugin, one at a time, the plugins taking turns pod by pod: the
 * machine's speed drifts over a run more than the difference being measured, and turns spread the drift over both.
 * Each ADD is paired with a VERSION through the runtime just before it, the start-up that ADD paid too.
 */
async function sequential(plugins: readonly Plugin[], count: number): Promise<Figures[]> {
  const pods = await Promise.all(plugins.map(() => freshPods(count)));
  const figures = plugins.map(() => ({ add: [] as number[], del: [] as number[], version: [] as number[] }));
  for (const op of ['add', 'del'] as const) {
    for (let i = 0; i < count; i++) {
      for (const [p, plugin] of plugins.entries()) {
        const pod = pods[p]![i]!;
        if (op === 'add') figures[p]!.version.push(await timed(() => call(plugin, 'version', pod)));
        figures[p]![op].push(await timed(() => call(plugin, op, pod)));
      }
    }
  }
  return figures;
}

/** ADD then DEL of `count` fresh pod namespaces, `concurrency` at a time; per-operation wall times. */
async function concurrent(plugin: Plugin, count: number, concurrency: number): Promise<Figures> {
  const pods = await freshPods(count);
  const figures = { add: [] as number[], del: [] as number[], version: [] };
  for (const op of ['add', 'del'] as const) {
    let next = 0;
    const worker = async () => {
      while (next < pods.length) {
        const pod = pods[next++]!;
        figures[op].push(await timed(() => call(plugin, op, pod)));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  return figures;
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

/**
 * aws-cni against a running agent: the simulators lay out an m5.4xlarge in their own node namespace, the agent serves it
 * with a warm pool big enough for every pod of the run (ADDs measure the pod path, not EC2 attaching ENIs), and the
 * installed single executable is driven through libcni in that namespace. Two networks: aws-cni alone, the same job as
 * ptp + host-local and the one compared with it, and the conflist the agent installs (aws-cni, then portmap).
 */
async function awsCniAgainstAgent(scratch: string): Promise<{ alone: Plugin; chained: Plugin }> {
  const nodeNs = `vc-bagent-${randomBytes(4).toString('hex')}`;
  const sims = await startSimulators({
    instanceType: 'm5.4xlarge',
    profile: 'fast',
    throttle: false,
    nodeNetns: nodeNs,
  });
  cleanup.push(() => sims.close());
  const [bin, conf] = ['agent-bin', 'agent-conf'].map((d) => join(scratch, d)) as [string, string];
  await Promise.all([bin, conf].map((d) => mkdir(d)));
  // The checkpoint on tmpfs, as a node keeps it (/var/run/aws-node is on /run): here the checkout's disk would add its
  // fsync latency to every ADD, which no node pays.
  const state = await mkdtemp(join(TMPFS, 'vpc-cni-bench-state-'));
  cleanup.push(() => rm(state, { recursive: true, force: true }));
  const agent = await startAgent({
    config: testConfig({
      // Every pod of the run has its address from the start, and no ADD sets off a top-up from EC2 in this process:
      // aws-cni alone and the portmap chain hold theirs at once in the sequential turns, and the concurrent run takes
      // fresh ones while those cool down (IP_COOLDOWN_PERIOD).
      MINIMUM_IP_TARGET: String(2 * SEQUENTIAL + CONCURRENT_PODS + 10),
      WARM_IP_TARGET: '1',
      // The plugin logs each command at debug, as the reference's does; here into the scratch directory.
      AWS_VPC_K8S_PLUGIN_LOG_FILE: join(scratch, 'plugin.log'),
    }),
    ...sims.agentOptions({ bin, conf, state }),
    log: createLog(() => {}, 'text'),
  });
  cleanup.push(() => agent.stop());
  const installed = JSON.parse(await readFile(join(conf, '10-aws.conflist'), 'utf8')) as { plugins: unknown[] };
  const aloneConf = join(scratch, 'agent-conf-alone');
  await mkdir(aloneConf);
  await writeFile(
    join(aloneConf, '10-aws.conflist'),
    JSON.stringify({ ...installed, plugins: installed.plugins.slice(0, 1) }),
  );
  const runtime = (confDir: string, cache: string) =>
    cniRuntime({ confDir, network: NETWORK_NAME, binDirs: [bin], cacheDir: join(scratch, cache), nodeNetns: nodeNs });
  return {
    alone: { label: 'aws-cni + vpc-cni agent', runtime: await runtime(aloneConf, 'cache-aws') },
    chained: { label: 'aws-cni + agent, then portmap', runtime: await runtime(conf, 'cache-aws-chained') },
  };
}

/**
 * The plugin's own account of each command (its log's `ms`, from parsed stdin to answer): what of a pod's ADD is the
 * agent round trip and the kernel writes, the rest of the wall time being the process, its snapshot and the runtime.
 */
async function insidePlugin(log: string): Promise<string> {
  const entries = (await readFile(log, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { command?: string; msg?: string; ms?: number });
  const msOf = (command: string) =>
    entries.filter((e) => e.msg === `${command} ok` && typeof e.ms === 'number').map((e) => e.ms as number);
  const [add, del] = [msOf('ADD'), msOf('DEL')];
  return `${'aws-cni inside the plugin (its log)'.padEnd(40)} ${ms(percentile(add, 50))} ${ms(percentile(add, 99))} ${ms(percentile(del, 50))} ${ms(percentile(del, 99))}`;
}

const VERSION_ENV = { CNI_COMMAND: 'VERSION' };

/**
 * The runtime's own floor for the plugin's start: a single executable built the same way (a V8 snapshot, postject)
 * from a bundle that only writes a line. Cached across runs in its own directory, so the plugin's cache keeps its
 * entries.
 */
async function emptyExecutable(): Promise<string> {
  const dir = join(tmpdir(), 'vpc-cni-bench-empty-sea');
  await mkdir(dir, { recursive: true });
  const bundle = join(dir, 'empty.cjs');
  await writeFile(
    bundle,
    [
      "const { startupSnapshot } = require('node:v8');",
      "const main = () => require('node:fs').writeSync(1, '{}\\n');",
      'if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(main);',
      'else main();',
      '',
    ].join('\n'),
  );
  return (await pluginExecutable({ bundle, cacheDir: dir })).path;
}

/** The start-up floors; the plugin's direct VERSION p50, when it could be measured. */
async function floors(): Promise<number | undefined> {
  const node24 = process.execPath;
  const bundle = packageFile('dist', PLUGIN_BUNDLE);
  if ((await stat(bundle).catch(() => undefined)) === undefined) {
    console.log(`floors not measured: dist/${PLUGIN_BUNDLE} is not built (npm run build)`);
    return undefined;
  }
  const plugin = await pluginExecutable();
  if (plugin.built) {
    const size = (await stat(plugin.path)).size >> 20;
    console.log(`(aws-cni single executable built in ${((plugin.buildMs ?? 0) / 1000).toFixed(1)} s, ${size} MiB)`);
  }
  const [bare, empty, sea, viaNode] = await startsP50([
    { file: node24, args: ['-e', '0'] },
    { file: await emptyExecutable(), args: [] },
    { file: plugin.path, args: [], env: VERSION_ENV },
    { file: node24, args: [bundle], env: VERSION_ENV },
  ]);
  const times = (n: number, of: number) => `${(n / of).toFixed(2)}×`;
  console.log(`floors (p50 of ${STARTS} starts each, in turns, empty environment, Node ${process.versions.node}):`);
  console.log(`  bare \`node -e 0\`                       ${ms(bare!)} ms`);
  console.log(`  empty single executable (snapshot)     ${ms(empty!)} ms  ${times(empty!, bare!)} bare`);
  console.log(
    `  aws-cni VERSION, single executable     ${ms(sea!)} ms  ${times(sea!, bare!)} bare, ${times(sea!, empty!)} empty`,
  );
  console.log(`  aws-cni VERSION, node + bundle          ${ms(viaNode!)} ms  ${times(viaNode!, bare!)} bare`);
  return sea;
}

async function main(): Promise<void> {
  const sea = await floors();

  if (process.getuid?.() !== 0 || !(await canBuildCniRuntime())) {
    console.log('ADD/DEL skipped: needs root (network namespaces) and golang-go + golang-github-appc-cni-dev');
    return;
  }
  await cniRuntimeBinary();
  const scratch = await mkdtemp(join(tmpdir(), 'vpc-cni-cni-bench-'));
  cleanup.push(() => rm(scratch, { recursive: true, force: true }));
  const node = await createNetns(context, 'bnode');

  const { alone: ours, chained } = await awsCniAgainstAgent(scratch);
  const ptp = await ptpHostLocal(scratch, node);

  console.log(
    `\nthrough libcni (ms, whole runtime process each): ${SEQUENTIAL} pods sequential, ${CONCURRENT_PODS} ${CONCURRENCY}-way`,
  );
  console.log(
    `${'case'.padEnd(40)} ${'ADD p50'.padStart(8)} ${'ADD p99'.padStart(8)} ${'DEL p50'.padStart(8)} ${'DEL p99'.padStart(8)}`,
  );
  // The installed chain takes its turns too: what a pod pays on a node as installed, portmap after aws-cni.
  const [ptpSeq, oursSeq, chainedSeq] = await sequential([ptp, ours, chained], SEQUENTIAL);
  const baseline = { seq: ptpSeq!, par: await concurrent(ptp, CONCURRENT_PODS, CONCURRENCY) };
  const mine = { seq: oursSeq!, par: await concurrent(ours, CONCURRENT_PODS, CONCURRENCY) };
  console.log(row(`${ptp.label}, sequential`, baseline.seq));
  console.log(row(`${ptp.label}, ${CONCURRENCY}-way`, baseline.par));
  console.log(row(`${ours.label}, sequential`, mine.seq));
  console.log(row(`${ours.label}, ${CONCURRENCY}-way`, mine.par));
  console.log(row(`${chained.label}, sequential`, chainedSeq!));
  console.log(await insidePlugin(join(scratch, 'plugin.log')));
  // The plugin's bare start-up as the runtime pays it: VERSION through the same libcni runtime, so the subtraction
  // takes out the plugin's start and the runtime's own, leaving the plugin's work; ptp + host-local's whole ADD keeps
  // both, as the target says.
  const started = percentile(mine.seq.version, 50);
  const own = percentile(mine.seq.add, 50) - started;
  const whole = percentile(baseline.seq.add, 50);
  console.log(
    `\nVERSION through libcni p50: aws-cni ${ms(started)} ms (direct: ${sea === undefined ? 'n/a' : ms(sea)} ms), ptp ${ms(percentile(baseline.seq.version, 50))} ms`,
  );
  console.log(
    `aws-cni own work (ADD p50 − VERSION p50, both through libcni) ${ms(own)} ms vs ptp + host-local ADD p50 ${ms(whole)} ms: ${(own / whole).toFixed(2)}×`,
  );
  console.log(
    `aws-cni ADD p50 / ptp + host-local ADD p50, ${CONCURRENCY}-way: ${(percentile(mine.par.add, 50) / percentile(baseline.par.add, 50)).toFixed(2)}×`,
  );
}

try {
  await main();
} finally {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
}
