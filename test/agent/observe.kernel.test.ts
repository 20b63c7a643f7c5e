import { request } from 'node:http';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import type { Agent } from '../../src/agent/agent.ts';
import type { BindAddress } from '../../src/agent/endpoint.ts';
import { createLog, type Log } from '../../src/agent/log.ts';
import { observeExtensions } from '../../src/agent/observe.ts';
import { DoctorReply, ExplainReply, StatusReply } from '../../src/agent/replies.ts';
import type { AgentExtension } from '../../src/agent/view.ts';
import { withApplyLock } from '../../src/apply/lock.ts';
import { namedNetns } from '../../src/apply/run.ts';
import { main } from '../../src/cli/main.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { ImdsClient } from '../../src/ipam/cloud/imds.ts';
import { hostVethName } from '../../src/lib/pod-wiring.ts';
import { type CniRuntime, canBuildCniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns } from '../helpers/netns.ts';
import { addressOf, bed as agentBed } from './support.ts';

// The agent with its metrics and introspection listeners on free loopback ports, serving a simulated node in its own
// namespace (test/agent/support.ts); the operator commands run in-process against it, as on a node.
const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

function get(bind: BindAddress, path: string): Promise<{ status: number; body: string }> {
  if (bind.kind !== 'tcp') throw new Error('tcp only');
  return new Promise((resolve, reject) => {
    const req = request({ host: bind.host, port: bind.port, path }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One sample of a series from a Prometheus text page (labels as written, e.g. `{eni="eni-1"}`). */
function sample(page: string, series: string): number | undefined {
  const line = page.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface Bed {
  readonly agent: Agent;
  readonly log: Log;
  readonly runtime: CniRuntime;
  readonly nodeNs: string;
  readonly metrics: BindAddress;
  readonly introspection: BindAddress;
  /** /readyz as answered while the extensions started, before the agent could serve. */
  readonly readyzBeforeReady: { status: number; body: string };
  /** Runs the CLI in-process: exit code and output. */
  cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  wire(t: ExecutionContext, name: string): Promise<string>;
}

async function bed(t: ExecutionContext): Promise<Bed> {
  const settings = { INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0' };
  const logs: string[] = [];
  const log = createLog((line) => logs.push(line), 'text', 'debug');
  t.teardown(() => {
    if (!t.passed) t.log(logs.join(''));
  });
  const bound: Partial<Record<'metrics' | 'introspection', BindAddress>> = {};
  let agent: Agent | undefined;
  let readyzBeforeReady: { status: number; body: string } | undefined;
  // Started after the metrics listener and before the engine: the agent cannot serve ADD yet, whatever the timing.
  const probe: AgentExtension = {
    name: 'readyz-probe',
    async start() {
      readyzBeforeReady = await get(bound.metrics!, '/readyz');
      return { stop: async () => {} };
    },
  };
  const b = await agentBed(t, 't3.medium', settings, (sims) => ({
    values: { INTROSPECTION_BIND_ADDRESS: { value: '127.0.0.1:0', source: { kind: 'env' } } },
    log,
    extensions: [
      ...observeExtensions({
        config: testConfig(settings),
        env: { VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0' },
        version: 'test',
        imds: new ImdsClient({ endpoint: sims.imdsUrl }),
        ec2: () => agent?.node.api,
        allowRemoteIntrospection: false,
        onListening: (name, address) => {
          bound[name] = address;
        },
        log: { log, pinned: false },
      }),
      probe,
    ],
  }));
  agent = b.agent;
  const { runtime, nodeNs } = b;
  const introspection = bound.introspection!;
  if (introspection.kind !== 'tcp') throw new Error('introspection is not on TCP');
  return {
    agent: b.agent,
    log,
    runtime,
    nodeNs,
    metrics: bound.metrics!,
    introspection,
    readyzBeforeReady: readyzBeforeReady!,
    async cli(args) {
      let stdout = '';
      let stderr = '';
      const code = await main([...args, '--introspection', `127.0.0.1:${introspection.port}`], {
        stdout: (s) => {
          stdout += s;
        },
        stderr: (s) => {
          stderr += s;
        },
        env: {},
      });
      return { code, stdout, stderr };
    },
    async wire(tt, name) {
      const pod = await b.pod(tt, name);
      return addressOf(await runtime.add(pod.attachment));
    },
  };
}

/** The pool as the datastore holds it, counted here independently of the metrics code. */
function poolOf(agent: Agent): { enis: number; total: number; assigned: number } {
  const { store } = agent.node.engine;
  const total = store
    .eniIds()
    .flatMap((id) => store.cidrs(id))
    .reduce((n, c) => n + (c.prefix ? 16 : 1), 0);
  return { enis: store.eniIds().length, total, assigned: store.leases().length };
}

kernel(
  '/readyz flips to 200 at ready; /metrics carries the awscni_* series with the pool as the datastore holds it',
  async (t) => {
    const b = await bed(t);
    t.is(b.readyzBeforeReady.status, 503);
    t.regex(b.readyzBeforeReady.body, /^not ready: /);
    t.deepEqual(await get(b.metrics, '/readyz'), { status: 200, body: 'ready\n' });
    t.is((await get(b.metrics, '/healthz')).status, 200);

    // Seven pods on a t3.medium (5 secondary addresses per ENI) need a second ENI.
    const ips = [];
    for (let i = 0; i < 7; i++) ips.push(await b.wire(t, `web-${i}`));
    const page = await get(b.metrics, '/metrics');
    t.is(page.status, 200);
    const pool = poolOf(b.agent);
    t.is(pool.assigned, 7);
    t.true(pool.enis >= 2);
    t.is(sample(page.body, 'awscni_assigned_ip_addresses'), pool.assigned);
    t.is(sample(page.body, 'awscni_total_ip_addresses'), pool.total);
    t.is(sample(page.body, 'awscni_eni_allocated'), pool.enis);
    t.is(sample(page.body, 'awscni_eni_max'), 3);
    t.is(sample(page.body, 'awscni_ip_max'), 15);
    t.is(sample(page.body, 'vpc_cni_ready'), 1);
    t.true((sample(page.body, 'vpc_cni_time_to_ready_seconds') ?? 0) > 0);
    t.is(sample(page.body, 'awscni_ipamd_startup_duration_seconds_count{success="true"}'), 1);
    const perEni = b.agent.node.engine.store
      .eniIds()
      .map((id) => sample(page.body, `awscni_assigned_ip_per_eni{eni="${id}"}`) ?? Number.NaN);
    t.is(
      perEni.reduce((n, v) => n + v, 0),
      7,
    );
    t.true((sample(page.body, 'vpc_cni_ec2_calls_total') ?? 0) > 0);
    // What happened between scrapes, from the bus: each ADD with its latency, each EC2 call by API.
    t.is(sample(page.body, 'awscni_add_ip_req_count'), 7);
    t.is(sample(page.body, 'vpc_cni_add_latency_seconds_count{result="ok"}'), 7);
    t.true((sample(page.body, 'vpc_cni_ec2_calls_per_pod') ?? 0) > 0);
    t.true((sample(page.body, 'awscni_ec2api_req_count{fn="AttachNetworkInterface"}') ?? 0) >= 1, 'the second ENI');
    t.true(
      (sample(page.body, 'awscni_aws_api_latency_ms_count{api="DescribeNetworkInterfaces",error="false"}') ?? 0) >= 1,
    );
    t.regex(page.body, /^awscni_build_info\{version="test",nodeversion="v\d+/m);
  },
);

kernel(
  'status, explain and doctor print for people and parse as JSON; explain and doctor see what is broken',
  async (t) => {
    const b = await bed(t);
    const ip = await b.wire(t, 'api-0');
    // The warm pool may have just attached an ENI the host has not converged yet (/v1/plan and doctor would rightly
    // say so); the checks below are about a converged node.
    await b.agent.host.sync();

    const status = await b.cli(['status']);
    t.is(status.code, 0, status.stderr);
    t.regex(status.stdout, /^ready: serving ADD/m);
    t.regex(status.stdout, /warm-pool +every 1s/);
    const statusJson = StatusReply.parse(JSON.parse((await b.cli(['status', '--output', 'json'])).stdout));
    t.is(statusJson.pool.assigned, 1);
    t.deepEqual(
      statusJson.pool.enis.map((e) => e.eni),
      b.agent.node.engine.store.eniIds().toSorted(),
    );

    const lease = b.agent.node.engine.store.leases()[0]!;
    // The reference's shapes: keyed by network card, then ENI; /32s with Go's base64 mask; container ids scrubbed.
    // biome-ignore lint/suspicious/noExplicitAny: the reference's nested shape, read field by field below
    const enis = JSON.parse((await get(b.introspection, '/v1/enis')).body) as Record<string, any>;
    t.deepEqual(Object.keys(enis), ['0']);
    t.like(enis['0'], { TotalIPs: poolOf(b.agent).total, AssignedIPs: 1 });
    const cidr = enis['0'].ENIs[lease.eniId].AvailableIPv4Cidrs[lease.cidr];
    t.deepEqual(cidr.Cidr, { IP: lease.ip, Mask: '/////w==' });
    t.like(cidr.IPAddresses[lease.ip], { Address: lease.ip, IPAMKey: { containerID: '', ifName: '' } });
    t.like(JSON.parse((await get(b.introspection, '/v1/ipamd-env-settings')).body), { WARM_ENI_TARGET: 1 });
    // Without custom networking there is no ENIConfig to name: a 404 saying so, as the reference's.
    const eniConfigs = await get(b.introspection, '/v1/eni-configs');
    t.is(eniConfigs.status, 404);
    t.regex(eniConfigs.body, /custom networking is off/);
    t.like(JSON.parse((await get(b.introspection, '/v1/config')).body).INTROSPECTION_BIND_ADDRESS, {
      value: '127.0.0.1:0',
    });
    const pods = JSON.parse((await get(b.introspection, '/v1/pods')).body);
    t.like(pods, { total: 1, truncated: false });
    t.like(pods.pods[0], { namespace: 'default', name: 'api-0', ip, eniId: lease.eniId });
    // Nothing pending once the host has converged; the warm pool attaching an ENI meanwhile makes its routes pending
    // until the next sync (rightly), so a few rounds of sync-then-ask are allowed.
    let pending: unknown[] = ['not asked'];
    for (let round = 0; round < 10 && pending.length > 0; round++) {
      await b.agent.host.sync();
      pending = JSON.parse((await get(b.introspection, '/v1/plan')).body).pending;
    }
    t.deepEqual(pending, []);
    t.regex((await get(b.introspection, '/nowhere')).body, /AvailableCommands/);
    const explained = await b.cli(['explain', 'pod', 'default/api-0', '--output', 'json']);
    t.is(explained.code, 0, explained.stdout + explained.stderr);
    const one = ExplainReply.parse(JSON.parse(explained.stdout)).interfaces;
    t.is(one.length, 1);
    const veth = hostVethName('eni', 'default', 'api-0');
    t.like(one[0], { ip, eniId: lease.eniId, deviceNumber: lease.deviceNumber, hostVeth: veth, kernelMatches: true });
    t.true(
      one[0]!.planned.some((p) => p.startsWith(`route ${ip}/32 dev ${veth}`)),
      one[0]!.planned.join('\n'),
    );
    t.regex((await b.cli(['explain', 'pod', 'default/api-0'])).stdout, /kernel: matches the plan/);
    const unknown = await b.cli(['explain', 'pod', 'default/nobody']);
    t.is(unknown.code, 1);
    t.regex(unknown.stderr, /no address is assigned to pod default\/nobody/);

    const clean = await b.cli(['doctor', '--output', 'json']);
    const before = DoctorReply.parse(JSON.parse(clean.stdout));
    t.deepEqual(
      before.findings.filter((f) => f.check === 'rp_filter' || f.check === 'mtu'),
      [],
    );
    t.is(before.checks.find((c) => c.check === 'rp_filter')?.status, 'ok');

    // Broken while the test holds the apply lock: the agent's own repair (which takes it) cannot put it back meanwhile.
    const primary = b.agent.host.last!.facts.enis[0]!.interfaceName!;
    const repaired = new Promise<void>((resolve) => {
      const off = b.agent.view.bus.subscribe((event) => {
        if (event.kind === 'drift-repaired' && event.restored.some((line) => line.includes('rp_filter'))) {
          off();
          resolve();
        }
      });
    });
    await withApplyLock(namedNetns(b.nodeNs), async () => {
      await execa('/usr/sbin/ip', ['-n', b.nodeNs, 'route', 'del', `${ip}/32`], { env: {}, extendEnv: false });
      await execa(
        '/usr/sbin/ip',
        ['netns', 'exec', b.nodeNs, '/usr/sbin/sysctl', '-w', `net.ipv4.conf.${primary}.rp_filter=1`],
        {
          env: {},
          extendEnv: false,
        },
      );
      const broken = await b.cli(['explain', 'pod', 'default/api-0']);
      t.is(broken.code, 2, broken.stdout);
      t.regex(broken.stdout, new RegExp(`\\+ route ${ip.replaceAll('.', '\\.')}/32 dev ${veth}`));
      const doctor = await b.cli(['doctor']);
      t.is(doctor.code, 2, doctor.stdout);
      t.regex(doctor.stdout, new RegExp(`^ERROR \\[rp_filter\\] net\\.ipv4\\.conf\\.${primary}\\.rp_filter is 1`, 'm'));
      t.regex(doctor.stdout, /fix: sysctl -w net\.ipv4\.conf\..*\.rp_filter=2/);
    });
    // Once the lock is free the drift repair puts both back; status and doctor remember it.
    await repaired;
    t.is((await b.cli(['explain', 'pod', 'default/api-0'])).code, 0);
    t.regex((await b.cli(['status'])).stdout, /^drift: \d+ repair\(s\) recently; last \d+s ago: .*restored/m);
    const after = DoctorReply.parse(JSON.parse((await b.cli(['doctor', '--output', 'json'])).stdout));
    t.deepEqual(
      after.findings.filter((f) => f.check === 'rp_filter').map((f) => f.severity),
      ['warning'],
    );
    t.regex(after.findings.find((f) => f.check === 'rp_filter')!.problem, /^the agent restored rp_filter 1 time/);
    const page = (await get(b.metrics, '/metrics')).body;
    t.true((sample(page, 'vpc_cni_drift_repairs_total') ?? 0) >= 1);
    t.true((sample(page, 'vpc_cni_drift_objects_restored_total') ?? 0) >= 2, 'the route and the sysctl');
    t.true((sample(page, 'vpc_cni_drift_detection_to_repair_seconds_count') ?? 0) >= 1);
  },
);
