// IPAM pod-churn benchmark: 200 pods arriving in bursts on an m5.4xlarge, run through the real engine and the EC2
// simulator on virtual time, with modelled EC2 latencies charged to that time. Prints, per warm-pool setting, the
// reference-compatible policy and the surge policy (pending-pod aware, batched) side by side: EC2 calls per pod, idle
// address-seconds, and p50/p99 wait for an address.
import { testConfig } from '../src/compiler/settings/index.ts';
import { podOwner, type SimNode, settle, startNode } from '../src/harness/simulate.ts';

/** Mid-points of what AWS answers under no load (the simulator's `realistic` profile ranges). */
const LATENCY_MS: Record<string, number> = {
  DescribeNetworkInterfaces: 55,
  DescribeSubnets: 55,
  CreateNetworkInterface: 375,
  AttachNetworkInterface: 1500,
  ModifyNetworkInterfaceAttribute: 100,
  AssignPrivateIpAddresses: 200,
  UnassignPrivateIpAddresses: 200,
  DetachNetworkInterface: 1000,
  DeleteNetworkInterface: 300,
};
const TICK_MS = 1000;
const LOOP_TICKS = 5;
const PODS = 200;

interface Pod {
  readonly n: number;
  readonly arriveAt: number;
  readonly lifeMs: number;
}

/** A fixed trace: bursts of 10–40 pods every 30–90 s, each living 2–12 minutes (seeded, so every run is the same). */
function trace(): Pod[] {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pods: Pod[] = [];
  let at = 10_000;
  while (pods.length < PODS) {
    const burst = Math.min(10 + Math.floor(random() * 31), PODS - pods.length);
    for (let i = 0; i < burst; i++) {
      pods.push({ n: pods.length + 1, arriveAt: at, lifeMs: 120_000 + Math.floor(random() * 600_000) });
    }
    at += 30_000 + Math.floor(random() * 60_000);
  }
  return pods;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function held(node: SimNode): number {
  return node.engine
    .snapshot()
    .enis.flatMap((e) => e.cidrs)
    .reduce((n, c) => n + c.size, 0);
}

interface Figures {
  readonly callsPerPod: number;
  readonly mutatingPerPod: number;
  readonly idleAddressSeconds: number;
  readonly p50WaitMs: number;
  readonly p99WaitMs: number;
  readonly wallMs: number;
}

async function run(env: Record<string, string>, mode: 'reference' | 'surge'): Promise<Figures> {
  const started = performance.now();
  const node = await startNode({ instanceType: 'm5.4xlarge', config: testConfig(env), mode });
  try {
    await settle(node);
    const start = node.clock.now();
    const pods = trace();
    const waiting = new Map<number, number>();
    const leaving: Array<{ n: number; at: number }> = [];
    const waits: number[] = [];
    let next = 0;
    let idleMs = 0;
    let placed = 0;
    for (let tick = 0; placed < PODS || leaving.length > 0; tick++) {
      const now = node.clock.now() - start;
      while (next < pods.length && pods[next]!.arriveAt <= now) waiting.set(pods[next]!.n, now) && next++;
      for (const [n, since] of waiting) {
        const result = await node.engine.assign(podOwner(n));
        if (!result.ok) continue;
        waiting.delete(n);
        waits.push(now - since);
        placed++;
        leaving.push({ n, at: now + pods[n - 1]!.lifeMs });
      }
      for (const pod of leaving.filter((p) => p.at <= now)) {
        await node.engine.release(podOwner(pod.n));
        leaving.splice(leaving.indexOf(pod), 1);
      }
      idleMs += (held(node) - node.engine.store.leases().length) * TICK_MS;
      if (tick % LOOP_TICKS === 0) {
        const before = { ...node.api.counts.byAction };
        await node.engine.step();
        const spent = Object.entries(node.api.counts.byAction).reduce(
          (ms, [action, n]) => ms + (n - (before[action] ?? 0)) * (LATENCY_MS[action] ?? 100),
          0,
        );
        node.clock.advance(spent);
      }
      node.clock.advance(TICK_MS);
      if (tick > 100_000) throw new Error('trace did not finish');
    }
    return {
      callsPerPod: node.api.counts.total / PODS,
      mutatingPerPod: node.api.counts.mutating / PODS,
      idleAddressSeconds: idleMs / 1000,
      p50WaitMs: percentile(waits, 50),
      p99WaitMs: percentile(waits, 99),
      wallMs: performance.now() - started,
    };
  } finally {
    await node.close();
  }
}

const settings: Array<[string, Record<string, string>]> = [
  ['WARM_ENI_TARGET=1 (default)', {}],
  ['WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10', { WARM_IP_TARGET: '5', MINIMUM_IP_TARGET: '10' }],
  ['prefix delegation, WARM_PREFIX_TARGET=1', { ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }],
];

const f = (n: number, digits = 2) => n.toFixed(digits).padStart(10);
process.stdout.write(
  `${PODS} pods in bursts on m5.4xlarge, modelled EC2 latency; engine loop every ${LOOP_TICKS} s (virtual time)\n`,
);
process.stdout.write(
  `${'setting'.padEnd(42)} ${'policy'.padEnd(10)} ${'calls/pod'.padStart(10)} ${'mut/pod'.padStart(10)} ${'idle addr·s'.padStart(12)} ${'p50 wait s'.padStart(10)} ${'p99 wait s'.padStart(10)}\n`,
);
for (const [name, env] of settings) {
  const reference = await run(env, 'reference');
  const surge = await run(env, 'surge');
  for (const [mode, r] of [
    ['reference', reference],
    ['surge', surge],
  ] as const) {
    process.stdout.write(
      `${name.padEnd(42)} ${mode.padEnd(10)} ${f(r.callsPerPod)} ${f(r.mutatingPerPod)} ${f(r.idleAddressSeconds, 0).padStart(12)} ${f(r.p50WaitMs / 1000, 1)} ${f(r.p99WaitMs / 1000, 1)}\n`,
    );
  }
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
  process.stdout.write(
    `${''.padEnd(42)} surge/ref: calls ${ratio(surge.callsPerPod, reference.callsPerPod)}, idle ${ratio(surge.idleAddressSeconds, reference.idleAddressSeconds)}, p99 wait ${ratio(surge.p99WaitMs, reference.p99WaitMs)} (wall ${Math.round(reference.wallMs + surge.wallMs)} ms)\n`,
  );
}
