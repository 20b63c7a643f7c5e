/**
 * The agent's lifecycle in the kernel: the view and its two verbs on a running agent (a live config change re-plans
 * the host and resizes the pool; demand grows it early), and `vpc-cni agent` killed -9 and restarted with EC2 held:
 * it serves the pods of its checkpoint before any EC2 call returns, every pod keeps its address and connectivity
 * across three ENIs, time-to-ready is reported, and SIGTERM exits 0 with the checkpoint written.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AgentEvent } from '../../src/agent/bus.ts';
import { NETWORK_NAME } from '../../src/agent/conflist.ts';
import type { AgentView, Readiness } from '../../src/agent/view.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { canBuildCniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns, createNetns } from '../helpers/netns.ts';
import { TEST_SEA_CACHE } from '../helpers/plugin.ts';
import { addressOf, bed, pings, simulatedNode } from './support.ts';

const BIN = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;

const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

/** Polls `check` until it holds (a condition, not a timing: `what` names it when it never does). */
async function until(what: string, check: () => boolean | Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function free(view: AgentView): number {
  const cidrs = view.engine.snapshot().enis.flatMap((e) => e.cidrs);
  return cidrs.reduce((n, c) => n + c.size - c.assigned - c.cooling, 0);
}

kernel('the view: extensions start before readiness; reconfigure and setDemand act within a period', async (t) => {
  const events: AgentEvent[] = [];
  let atStart: Readiness | undefined;
  let stopped = false;
  const b = await bed(
    t,
    't3.medium',
    { WARM_IP_TARGET: '8' },
    {
      periods: { vpcCidrsMs: 500 },
      extensions: [
        {
          name: 'recorder',
          async start(view) {
            atStart = view.readiness();
            const off = view.bus.subscribe((e) => events.push(e));
            return {
              async stop() {
                off();
                stopped = true;
              },
            };
          },
        },
      ],
    },
  );
  const { view } = b.agent;
  t.false(atStart?.ready, 'not ready while extensions start');
  t.true(view.readiness().ready);
  t.true((view.timeToReadyMs() ?? 0) > 0);
  t.true(events.some((e) => e.kind === 'ec2-call' && e.action === 'DescribeNetworkInterfaces'));
  t.true(events.some((e) => e.kind === 'ready'));
  t.deepEqual(
    view
      .loops()
      .map((l) => l.name)
      .toSorted(),
    ['drift-repair', 'ec2-reconcile', 'leaked-eni-sweep', 'vpc-cidrs', 'warm-pool'],
  );
  t.is(free(view), 8, 'WARM_IP_TARGET=8 at start: two ENIs');

  // Live: the SNAT exclusion lands in the nat table and the pool shrinks to the new target; the pod MTU waits.
  const result = await view.reconfigure(
    testConfig({
      WARM_IP_TARGET: '2',
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.99.0.0/16',
      POD_MTU: '1500',
      // Unchanged: the test bed keeps the plugin's log in its directory.
      AWS_VPC_K8S_PLUGIN_LOG_FILE: view.config().AWS_VPC_K8S_PLUGIN_LOG_FILE,
    }),
    {},
  );
  t.deepEqual(result, {
    applied: ['AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', 'WARM_IP_TARGET'],
    pendingRecycle: ['POD_MTU'],
  });
  t.deepEqual(view.pendingRecycle(), ['POD_MTU']);
  t.is(view.config().POD_MTU, testConfig({}).POD_MTU, 'the running pod MTU stays');
  t.like(
    events.find((e) => e.kind === 'config-changed'),
    { applied: result.applied, pendingRecycle: ['POD_MTU'] },
  );
  const nat = async () =>
    (
      await execa('/usr/sbin/ip', ['netns', 'exec', b.nodeNs, '/usr/sbin/iptables-save', '-t', 'nat'], {
        env: {},
        extendEnv: false,
      })
    ).stdout;
  t.regex(await nat(), /-d 10\.99\.0\.0\/16/);
  t.notRegex(await nat(), /-d 10\.50\.0\.0\/16/);
  // A CIDR associated with the VPC while the agent runs: the VPC CIDR loop sees it in IMDS and the SNAT exclusions follow.
  b.sims.model.associateVpcCidr('10.50.0.0/16');
  await until('the new VPC CIDR is excluded from SNAT', async () => /-d 10\.50\.0\.0\/16/.test(await nat()));
  await until('the pool shrinks to WARM_IP_TARGET=2', () => free(view) === 2);
  t.is((await b.agent.host.sync()).changes, 0, 'the host carries the new plan whole');

  // Demand: four pods bound to the node before their ADD grow the pool by four; cordoned, it does not grow.
  view.setDemand({ cordoned: false, pendingPods: 4 });
  await until('the pool grows for the expected pods', () => free(view) === 6);
  view.setDemand({ cordoned: true, pendingPods: 9 });
  const p = await b.pod(t, 'on-cordoned');
  t.truthy(addressOf(await b.runtime.add(p.attachment)), 'a cordoned node still serves ADDs from what it holds');

  await b.agent.stop();
  t.true(stopped, 'extensions stop with the agent');
  t.false(view.readiness().ready);
});

kernel.serial(
  'killed -9 and restarted with EC2 held: the checkpoint is served before any EC2 call returns, pods on three ENIs keep their addresses; SIGTERM exits 0',
  async (t) => {
    const { sims, nodeNs, bin, conf, state, cache } = await simulatedNode(t, 'vc-life', 't3.medium');
    const env = {
      ...sims.agentEnv,
      VPC_CNI_CACHE_DIR: TEST_SEA_CACHE,
      // Any free port: other tests' agents run at the same time.
      VPC_CNI_METRICS_BIND_ADDRESS: '127.0.0.1:0',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
      AWS_VPC_K8S_PLUGIN_LOG_FILE: join(state, 'plugin.log'),
    };
    const args = [BIN, 'agent', '--netns', nodeNs, '--state-dir', state, '--bin-dir', bin, '--conf-dir', conf];
    let seen = '';
    const start = async () => {
      seen = '';
      const child = execa(process.execPath, args, { env, extendEnv: false, reject: false, all: true });
      let exited = false;
      child.all!.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
      });
      void child.then(() => {
        exited = true;
      });
      await until('the agent is ready', () => {
        if (exited) throw new Error(`agent exited before ready:\n${seen}`);
        return seen.includes(' ready: ');
      });
      return { child };
    };
    let agent = (await start()).child;
    t.teardown(() => {
      agent.kill('SIGKILL');
    });
    t.teardown(() => {
      if (!t.passed) t.log(seen);
    });
    const runtime = await cniRuntime({
      confDir: conf,
      network: NETWORK_NAME,
      binDirs: [bin],
      cacheDir: cache,
      nodeNetns: nodeNs,
    });
    const pod = async (name: string) => {
      const ns = await createNetns(t, 'lif');
      const attachment = {
        containerId: `c${randomBytes(8).toString('hex')}`,
        netns: ns.path,
        podName: name,
        podNamespace: 'default',
      };
      return { ns, attachment };
    };
    // A t3.medium's ENIs hold 5 secondary addresses each: eleven pods need the primary and two more ENIs.
    const pods = await Promise.all(Array.from({ length: 11 }, (_, i) => pod(`life-${i}`)));
    const ips: string[] = [];
    for (const p of pods) ips.push(addressOf(await runtime.add(p.attachment)));
    const checkpointed = async () =>
      (
        JSON.parse(await readFile(join(state, 'ipam.json'), 'utf8')) as {
          allocations: Array<{ ipv4: string; containerID: string }>;
        }
      ).allocations;
    const enis = [...sims.model.enis.values()].filter((e) => e.attachment?.instanceId === sims.instance.id);
    const onEni = (ip: string) => enis.find((e) => e.privateIps.some((a) => a.address === ip))?.id;
    t.is(new Set(ips.map(onEni)).size, 3, 'the pods are on three ENIs');
    const node = sims.node!;
    const reach = async (label: string) => {
      for (const [i, p] of pods.entries()) {
        t.true(await pings(p.ns, node.vpcPeer), `${label}: pod ${ips[i]} → VPC peer`);
      }
      // Across ENIs: the first pod (primary ENI) and the last (third ENI) reach each other.
      t.true(await pings(pods[0]!.ns, ips.at(-1)!), `${label}: pod to pod across ENIs`);
    };
    await reach('before the kill');

    agent.kill('SIGKILL');
    await agent;
    sims.faults.holdEc2();
    agent = (await start()).child;
    const ready = /ready: serving \S+ (\d+) ms after start/.exec(seen);
    t.truthy(ready, 'time-to-ready is in the log');
    t.log(`time to ready after kill -9 with ${pods.length} pods, EC2 held: ${ready?.[1]} ms`);
    await until('the restarted agent has asked EC2', () => sims.faults.ec2Held > 0);

    // EC2 has answered nothing since the restart: what follows is served from the checkpoint and IMDS alone.
    for (const p of pods) {
      const check = await runtime.check(p.attachment);
      t.true(check.ok, JSON.stringify(check));
    }
    t.true((await runtime.del(pods[3]!.attachment)).ok, 'DEL with EC2 held');
    const late = await pod('late');
    const lateIp = addressOf(await runtime.add(late.attachment));
    t.true(await pings(late.ns, node.vpcPeer), `a new pod ${lateIp} on an address the node held, with EC2 held`);
    pods.splice(3, 1);
    ips.splice(3, 1);
    await reach('restarted, EC2 held');

    sims.faults.releaseEc2();
    // Attempts held past the client's 10 s timeout failed meanwhile; the loop retries within seconds.
    await until('EC2 confirms the restored view', () => seen.includes('EC2 confirmed the restored ENIs'), 90_000);
    const held = (await checkpointed()).map((a) => a.ipv4).toSorted();
    t.deepEqual(held, [...ips, lateIp].toSorted(), 'the checkpoint holds exactly the live pods');

    agent.kill('SIGTERM');
    t.is((await agent).exitCode, 0);
    t.deepEqual((await checkpointed()).map((a) => a.ipv4).toSorted(), held, 'the checkpoint survives SIGTERM');
    await reach('the agent stopped');
  },
);
