/**
 * The agent end to end, as the kernel tests set it up: the simulators lay a node out in namespaces (unique names), the
 * agent serves it in the node namespace (real EC2 and IMDS clients against the simulators), and the installed plugin is
 * driven through the libcni runtime inside the node namespace, as a container runtime on the host would. Everything is
 * torn down by the test's teardown, which runs when it fails too.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { type Agent, type AgentOptions, startAgent } from '../../src/agent/agent.ts';
import { NETWORK_NAME } from '../../src/agent/conflist.ts';
import { createLog } from '../../src/agent/log.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { type Simulators, startSimulators } from '../../src/sim/index.ts';
import { AddResult, type CniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';
import { createNetns, type TestNetns } from '../helpers/netns.ts';
import { TEST_SEA_CACHE } from '../helpers/plugin.ts';

export interface Bed {
  readonly sims: Simulators;
  readonly agent: Agent;
  readonly runtime: CniRuntime;
  readonly nodeNs: string;
  readonly stateDir: string;
  readonly logs: string[];
  pod(t: ExecutionContext, name: string): Promise<Pod>;
}

export interface Pod {
  readonly ns: TestNetns;
  readonly attachment: { containerId: string; netns: string; podName: string; podNamespace: string };
}

/** A simulated node and the test's scratch directories, both removed at teardown (also when the test fails). */
export interface SimulatedNode {
  readonly sims: Simulators;
  /** The node's network namespace: `<prefix>-<random>`, so parallel tests never share one. */
  readonly nodeNs: string;
  readonly dir: string;
  /** bin (the plugin), conf (the conflist), state (socket, checkpoint, plugin log), cache (libcni's). */
  readonly bin: string;
  readonly conf: string;
  readonly state: string;
  readonly cache: string;
}

export async function simulatedNode(t: ExecutionContext, prefix: string, instanceType: string): Promise<SimulatedNode> {
  const nodeNs = `${prefix}-${randomBytes(4).toString('hex')}`;
  const sims = await startSimulators({ instanceType, profile: 'fast', throttle: false, nodeNetns: nodeNs });
  t.teardown(() => sims.close());
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [bin, conf, state, cache] = ['bin', 'conf', 'state', 'cache'].map((d) => join(dir, d)) as [
    string,
    string,
    string,
    string,
  ];
  await Promise.all([bin, conf, state, cache].map((d) => mkdir(d)));
  return { sims, nodeNs, dir, bin, conf, state, cache };
}

/** `options` override the agent's (its drift repair's period, say); a function gets the simulators first. */
export async function bed(
  t: ExecutionContext,
  instanceType: string,
  env: Record<string, string> = {},
  options: Partial<AgentOptions> | ((sims: Simulators) => Partial<AgentOptions>) = {},
): Promise<Bed> {
  const { sims, nodeNs, dir, bin, conf, state, cache } = await simulatedNode(t, 'vc-agent', instanceType);
  const logs: string[] = [];
  const agent = await startAgent({
    // The plugin's log in the test's directory, not the machine's /var/log (unless the test sets its own).
    config: testConfig({ AWS_VPC_K8S_PLUGIN_LOG_FILE: join(dir, 'plugin.log'), ...env }),
    ...sims.agentOptions({ bin, conf, state }),
    executable: { cacheDir: TEST_SEA_CACHE },
    log: createLog((line) => logs.push(line), 'text', 'debug'),
    loopMs: 1_000,
    ...(typeof options === 'function' ? options(sims) : options),
  });
  t.teardown(() => agent.stop());
  t.teardown(() => {
    if (!t.passed) t.log(logs.join(''));
  });
  const runtime = await cniRuntime({
    confDir: conf,
    network: NETWORK_NAME,
    binDirs: [bin],
    cacheDir: cache,
    nodeNetns: nodeNs,
  });
  return {
    sims,
    agent,
    runtime,
    nodeNs,
    stateDir: state,
    logs,
    async pod(tt, name) {
      const ns = await createNetns(tt, 'agp');
      return {
        ns,
        attachment: {
          containerId: `c${randomBytes(8).toString('hex')}`,
          netns: ns.path,
          podName: name,
          podNamespace: 'default',
        },
      };
    },
  };
}

export async function pings(from: TestNetns, to: string): Promise<boolean> {
  const r = await execa('/usr/sbin/ip', ['netns', 'exec', from.name, '/usr/bin/ping', '-c1', '-W2', to], {
    reject: false,
    env: {},
    extendEnv: false,
  });
  return r.exitCode === 0;
}

export function addressOf(reply: Awaited<ReturnType<CniRuntime['add']>>): string {
  if (!reply.ok) throw new Error(`ADD failed: ${reply.error.code} ${reply.error.msg}`);
  return AddResult.parse(reply.result).ips[0]!.address.split('/')[0]!;
}

export async function nodeIp(nodeNs: string, args: readonly string[]): Promise<string> {
  return (await execa('/usr/sbin/ip', ['-n', nodeNs, ...args], { env: {}, extendEnv: false })).stdout;
}
