// The agent's lifecycle figures, on simulated m5.4xlarge nodes laid out in namespaces this bench creates (root; skips
// otherwise, saying so). `vpc-cni agent` as the DaemonSet runs it (the bundle, its own process):
//  - time-to-ready: a cold start (empty checkpoint, EC2 first) against a restart after kill -9 with 100 pods in the
//    checkpoint (host converging them, then already converged, then with EC2 held), each against the reference's 7 s
//    start window;
//  - RSS: a bare Node process, the agent with no pod, the agent with 100 pods;
// and in-process agents for ADD p50/p99 over the socket, DEL+ADD churn with the warm-pool and EC2 reconcile loops
// running flat out (200 ms / 500 ms) against the same churn with their timers at 1 h (the warm pool is still kicked
// by each ADD and DEL, as it is in production). Figures only, no assertions.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { execa, type ResultPromise } from 'execa';
import { startAgent } from '../src/agent/agent.ts';
import { NETWORK_NAME } from '../src/agent/conflist.ts';
import { createLog } from '../src/agent/log.ts';
import { testConfig } from '../src/compiler/settings/index.ts';
import { call } from '../src/ipc/client.ts';
import { hostVethName } from '../src/lib/pod-wiring.ts';
import { type Simulators, startSimulators } from '../src/sim/index.ts';
import { canCreateNetns } from '../test/helpers/netns.ts';
import { TEST_SEA_CACHE } from '../test/helpers/plugin.ts';

const PODS = 100;
const CHURN_ROUNDS = 6;
const CHURN_PODS = 30;
/** The reference's start window the issue measures against (aws-node's ipamd start to ready). */
const REFERENCE_START_WINDOW_MS = 7_000;
const INSTANCE = 'm5.4xlarge';
const BIN = new URL('../bin/vpc-cni.js', import.meta.url).pathname;

const cleanup: (() => Promise<unknown>)[] = [];

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const fmt = (n: number, unit: string) => `${n.toFixed(0).padStart(7)} ${unit}`;

interface Node {
  readonly sims: Simulators;
  readonly nodeNs: string;
  readonly dir: string;
}

async function node(): Promise<Node> {
  const nodeNs = `vc-bench-${randomBytes(4).toString('hex')}`;
  const sims = await startSimulators({ instanceType: INSTANCE, profile: 'fast', throttle: false, nodeNetns: nodeNs });
  cleanup.push(() => sims.close());
  const dir = await mkdtemp(join(tmpdir(), 'vc-bench-agent-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  await Promise.all(['bin', 'conf', 'state'].map((d) => mkdir(join(dir, d))));
  return { sims, nodeNs, dir };
}

function attachment(i: number) {
  return {
    containerId: `c${String(i).padStart(12, '0')}`,
    netns: '/var/run/netns/bench',
    ifName: 'eth0',
    podNamespace: 'default',
    podName: `bench-${i}`,
    infraContainerId: '',
    networkName: NETWORK_NAME,
  };
}

async function add(socket: string, i: number): Promise<number> {
  const began = performance.now();
  const reply = await call(socket, { op: 'ADD', attachment: attachment(i) }, 30_000);
  if (!reply.ok) throw new Error(`ADD bench-${i}: ${reply.error.kind} ${reply.error.message}`);
  return performance.now() - began;
}

async function del(socket: string, i: number): Promise<void> {
  const reply = await call(socket, { op: 'DEL', attachment: attachment(i), reason: '' }, 30_000);
  if (!reply.ok) throw new Error(`DEL bench-${i}: ${reply.error.kind} ${reply.error.message}`);
}

/** The pods' host veths, so the agent's host plan carries them as it would wired pods (routes, rules). */
async function vethsFor(nodeNs: string, count: number): Promise<void> {
  const lines = Array.from({ length: count }, (_, i) => {
    const veth = hostVethName('eni', 'default', `bench-${i}`);
    return [`link add ${veth} type veth peer name bp${i}`, `link set ${veth} up`, `link set bp${i} up`];
  }).flat();
  await execa('/usr/sbin/ip', ['-n', nodeNs, '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    env: {},
    extendEnv: false,
  });
}

interface Running {
  readonly child: ResultPromise;
  readonly readyMs: number;
}

/** `vpc-cni agent` in its own process; resolves once it logs ready, with the time-to-ready it logged. */
async function agentProcess(n: Node): Promise<Running> {
  const state = join(n.dir, 'state');
  const child = execa(
    process.execPath,
    [
      BIN,
      'agent',
      '--netns',
      n.nodeNs,
      '--state-dir',
      state,
      '--bin-dir',
      join(n.dir, 'bin'),
      '--conf-dir',
      join(n.dir, 'conf'),
    ],
    {
      env: {
        ...n.sims.agentEnv,
        VPC_CNI_CACHE_DIR: TEST_SEA_CACHE,
        VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
        INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
        AWS_VPC_K8S_CNI_LOGLEVEL: 'info',
      },
      extendEnv: false,
      reject: false,
      all: true,
    },
  );
  cleanup.push(async () => {
    child.kill('SIGKILL');
    await child;
  });
  let seen = '';
  const readyMs = await new Promise<number>((resolve, reject) => {
    child.all!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const m = / ready: serving \S+ (\d+) ms after start/.exec(seen);
      if (m) resolve(Number(m[1]));
    });
    void child.then(() => reject(new Error(`agent exited before ready:\n${seen}`)));
  });
  return { child, readyMs };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function kill9(r: Running): Promise<void> {
  r.child.kill('SIGKILL');
  await r.child;
}

async function lifecycle(): Promise<void> {
  const n = await node();
  const socket = join(n.dir, 'state', 'agent.sock');

  const cold = await agentProcess(n);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rss0 = await rssMiB(cold.child.pid!);
  const fill: number[] = [];
  for (let i = 0; i < PODS; i++) fill.push(await add(socket, i));
  await vethsFor(n.nodeNs, PODS);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const rss100 = await rssMiB(cold.child.pid!);
  await kill9(cold);

  const converging = await agentProcess(n);
  await kill9(converging);
  const converged = await agentProcess(n);
  await kill9(converged);
  n.sims.faults.holdEc2();
  const held = await agentProcess(n);
  await kill9(held);
  n.sims.faults.releaseEc2();

  const bare = execa(process.execPath, ['-e', 'setTimeout(() => {}, 3000)'], { reject: false });
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const rssBare = await rssMiB(bare.pid!);
  await bare;

  const window = (ms: number) => `${(ms / REFERENCE_START_WINDOW_MS).toFixed(2)}× the reference's 7 s window`;
  console.log(`time-to-ready, ${INSTANCE}, vpc-cni agent process:`);
  console.log(
    `  cold start (empty checkpoint, EC2 first)         ${fmt(cold.readyMs, 'ms')}   ${window(cold.readyMs)}`,
  );
  console.log(
    `  kill -9, ${PODS} pods, host converging them          ${fmt(converging.readyMs, 'ms')}   ${window(converging.readyMs)}, ${(converging.readyMs / cold.readyMs).toFixed(2)}× cold`,
  );
  console.log(
    `  kill -9, ${PODS} pods, host converged                ${fmt(converged.readyMs, 'ms')}   ${window(converged.readyMs)}, ${(converged.readyMs / cold.readyMs).toFixed(2)}× cold`,
  );
  console.log(
    `  kill -9, ${PODS} pods, EC2 held (no answer at all)   ${fmt(held.readyMs, 'ms')}   ${window(held.readyMs)}, ${(held.readyMs / cold.readyMs).toFixed(2)}× cold`,
  );
  console.log('RSS:');
  console.log(`  bare node process                                ${fmt(rssBare, 'MiB')}`);
  console.log(
    `  agent, no pod                                    ${fmt(rss0, 'MiB')}   ${(rss0 / rssBare).toFixed(2)}× bare node`,
  );
  console.log(
    `  agent, ${PODS} pods                                  ${fmt(rss100, 'MiB')}   ${(rss100 / rssBare).toFixed(2)}× bare node, +${(rss100 - rss0).toFixed(0)} MiB for ${PODS} pods`,
  );
  console.log(
    `ADD over the socket while filling ${PODS} pods (ENIs attaching): p50 ${percentile(fill, 50).toFixed(1)} ms, p99 ${percentile(fill, 99).toFixed(1)} ms`,
  );
}

/** DEL+ADD churn of CHURN_PODS pods, CHURN_ROUNDS times, on an in-process agent with the given loop periods. */
async function churn(loopMs: number, reconcileMs: number): Promise<number[]> {
  const n = await node();
  const logs: string[] = [];
  const agent = await startAgent({
    config: testConfig({ WARM_IP_TARGET: String(CHURN_PODS + 5), AWS_VPC_K8S_PLUGIN_LOG_FILE: '/dev/null' }),
    env: {
      ...n.sims.agentEnv,
    },
    netns: n.nodeNs,
    stateDir: join(n.dir, 'state'),
    checkpointPath: join(n.dir, 'state', 'ipam.json'),
    cniBinDir: join(n.dir, 'bin'),
    cniConfDir: join(n.dir, 'conf'),
    executable: { cacheDir: TEST_SEA_CACHE },
    log: createLog((line) => logs.push(line), 'text', 'info'),
    loopMs,
    periods: { reconcileMs },
  });
  cleanup.push(() => agent.stop());
  const times: number[] = [];
  for (let i = 0; i < CHURN_PODS; i++) await add(agent.socketPath, i);
  for (let round = 0; round < CHURN_ROUNDS; round++) {
    for (let i = 0; i < CHURN_PODS; i++) {
      await del(agent.socketPath, i);
      times.push(await add(agent.socketPath, i));
    }
  }
  const runs = agent.view.loops().map((l) => `${l.name} ${l.runs}`);
  console.log(`  (loops ${loopMs} / ${reconcileMs} ms ran: ${runs.join(', ')})`);
  await agent.stop();
  return times;
}

if (!canCreateNetns) {
  console.log('skipped: needs root for network namespaces');
} else {
  try {
    await lifecycle();
    console.log(`ADD over the socket, DEL+ADD churn of ${CHURN_PODS} pods × ${CHURN_ROUNDS} (addresses warm):`);
    const idle = await churn(3_600_000, 3_600_000);
    const busy = await churn(200, 500);
    const row = (label: string, t: readonly number[]) =>
      console.log(`  ${label} p50 ${percentile(t, 50).toFixed(2)} ms, p99 ${percentile(t, 99).toFixed(2)} ms`);
    row('loops on 1 h timers, kicked by ADD/DEL only (baseline):', idle);
    row('warm pool every 200 ms, EC2 reconcile every 500 ms:     ', busy);
    console.log(
      `  ratio busy/idle: p50 ${(percentile(busy, 50) / percentile(idle, 50)).toFixed(2)}×, p99 ${(percentile(busy, 99) / percentile(idle, 99)).toFixed(2)}×`,
    );
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  }
}
