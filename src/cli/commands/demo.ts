import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { type Agent, startAgent } from '../../agent/agent.ts';
import { createLog } from '../../agent/log.ts';
import { loadConfigFromFlags } from '../../config/load.ts';
import { packageFile } from '../../data/files.ts';
import { type Simulators, startSimulators } from '../../sim/index.ts';
import { type Command, type CommandInput, outputFormat, outputOption, UsageError } from '../command.ts';

const IP = '/usr/sbin/ip';
const PING = '/usr/bin/ping';

interface PodOutcome {
  readonly name: string;
  readonly address: string;
  readonly eni: string;
  readonly deviceNumber: number;
  readonly reaches: {
    readonly node: boolean;
    readonly vpcPeer: boolean;
    readonly internetPeer: boolean;
    readonly pod: boolean;
  };
}

async function sh(file: string, args: readonly string[], input?: string) {
  return execa(file, args, {
    reject: false,
    env: {},
    extendEnv: false,
    ...(input === undefined ? { stdin: 'ignore' } : { input }),
  });
}

async function pings(netns: string, to: string): Promise<boolean> {
  return (await sh(IP, ['netns', 'exec', netns, PING, '-c1', '-W2', to])).exitCode === 0;
}

/** Runs the installed plugin as a container runtime does: CNI_* in an otherwise empty environment, netconf on stdin. */
async function runPlugin(
  agent: Agent,
  nodeNs: string,
  command: 'ADD' | 'DEL',
  pod: { name: string; netns: string; containerId: string },
) {
  const list = JSON.parse(await readFile(agent.install.conflist.path, 'utf8')) as {
    cniVersion: string;
    name: string;
    plugins: object[];
  };
  const conf = { cniVersion: list.cniVersion, name: list.name, ...list.plugins[0] };
  const env = [
    `CNI_COMMAND=${command}`,
    `CNI_CONTAINERID=${pod.containerId}`,
    `CNI_NETNS=/var/run/netns/${pod.netns}`,
    'CNI_IFNAME=eth0',
    `CNI_PATH=${join(agent.install.plugin.path, '..')}`,
    `CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId}`,
  ];
  const result = await sh(
    IP,
    ['netns', 'exec', nodeNs, '/usr/bin/env', '-i', ...env, agent.install.plugin.path],
    JSON.stringify(conf),
  );
  const reply = JSON.parse(result.stdout || '{}') as { ips?: Array<{ address: string }>; code?: number; msg?: string };
  if (result.exitCode !== 0) {
    // No error object on stdout means the plugin died (a signal, a crash): its stderr is then the only witness.
    const why =
      reply.code === undefined
        ? `exit ${result.exitCode}, stderr: ${result.stderr.slice(-500)}`
        : `error ${reply.code}: ${reply.msg}`;
    throw new Error(`aws-cni ${command} ${pod.name}: ${why}`);
  }
  return reply;
}

async function demoOnNode(input: CommandInput, pods: number): Promise<{ pods: PodOutcome[]; sims: Simulators }> {
  const say = (line: string) => input.io.stderr(`${line}\n`);
  const id = randomBytes(3).toString('hex');
  const nodeNs = `vcdemo-${id}`;
  const podNs: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-demo-'));
  let sims: Simulators | undefined;
  let agent: Agent | undefined;
  try {
    say(
      `▸ simulators: EC2, IMDS and Kubernetes on 127.0.0.1; node t3.medium laid out in namespaces ${nodeNs} and ${nodeNs}-vpc`,
    );
    sims = await startSimulators({ instanceType: 't3.medium', profile: 'fast', throttle: false, nodeNetns: nodeNs });
    const node = sims.node!;
    const [bin, conf, state] = ['bin', 'conf', 'state'].map((d) => join(dir, d)) as [string, string, string];
    await Promise.all([bin, conf, state].map((d) => mkdir(d)));
    say('▸ agent: IMDS → IPAM engine → host plan → warm pool → socket → install-cni (the plugin is built once, ~5 s)');
    // The defaults of every setting, as a stock aws-node DaemonSet has them, but the plugin's log stays in the demo's
    // directory rather than the machine's /var/log.
    const loaded = await loadConfigFromFlags({}, { AWS_VPC_K8S_PLUGIN_LOG_FILE: join(state, 'plugin.log') });
    if (!loaded.ok) throw new Error('the default configuration is invalid (a bug): run `vpc-cni validate`');
    agent = await startAgent({
      config: loaded.config,
      ...sims.agentOptions({ bin, conf, state }),
      log: createLog((line) => input.io.stderr(`  agent: ${line}`), 'text'),
      loopMs: 1_000,
    });
    const wired: Array<{ name: string; netns: string; containerId: string; address: string }> = [];
    for (let i = 0; i < pods; i++) {
      const pod = { name: `demo-${i}`, netns: `${nodeNs}-pod${i}`, containerId: `demo${id}${i}` };
      await sh(IP, ['netns', 'add', pod.netns]);
      podNs.push(pod.netns);
      const reply = await runPlugin(agent, nodeNs, 'ADD', pod);
      const address = (reply.ips?.[0]?.address ?? '').split('/')[0] ?? '';
      wired.push({ ...pod, address });
      say(`▸ pod ${pod.name}: ${address}`);
    }
    const leases = agent.node.engine.store.leases();
    const outcomes: PodOutcome[] = [];
    for (const [i, p] of wired.entries()) {
      const lease = leases.find((l) => l.ip === p.address);
      const other = wired[(i + 1) % wired.length]!;
      outcomes.push({
        name: p.name,
        address: p.address,
        eni: lease?.eniId ?? '?',
        deviceNumber: lease?.deviceNumber ?? -1,
        reaches: {
          node: await pings(p.netns, node.primaryIp),
          vpcPeer: await pings(p.netns, node.vpcPeer),
          internetPeer: await pings(p.netns, node.internetPeer),
          pod: await pings(p.netns, other.address),
        },
      });
    }
    say('▸ DEL every pod');
    for (const p of wired) await runPlugin(agent, nodeNs, 'DEL', p);
    return { pods: outcomes, sims };
  } finally {
    await agent?.stop();
    await sims?.close();
    for (const ns of podNs) await sh(IP, ['netns', 'del', ns]);
    await rm(dir, { recursive: true, force: true });
  }
}

function table(pods: readonly PodOutcome[], sims: Simulators): string {
  const mark = (ok: boolean) => (ok ? 'yes' : 'NO');
  const node = sims.node!;
  const rows = pods.map(
    (p) =>
      `${p.name.padEnd(8)} ${p.address.padEnd(14)} ${`${p.eni} (eth${p.deviceNumber})`.padEnd(30)} ${mark(p.reaches.node).padEnd(5)} ${mark(p.reaches.vpcPeer).padEnd(9)} ${mark(p.reaches.internetPeer).padEnd(13)} ${mark(p.reaches.pod)}`,
  );
  return [
    `node ${node.primaryIp}, VPC peer ${node.vpcPeer}, internet peer ${node.internetPeer} (answers the node's primary IP only: pods reach it through SNAT)`,
    `${'pod'.padEnd(8)} ${'address'.padEnd(14)} ${'ENI'.padEnd(30)} node  VPC peer  internet peer next pod`,
    ...rows,
    '',
  ].join('\n');
}

export const demo: Command = {
  name: 'demo',
  help: `Usage: vpc-cni demo [--pods N] [--output text|json]

The main job end to end on this machine, with nothing from AWS: the simulators lay out a t3.medium node in network
namespaces (the node and a VPC fabric holding a VPC peer and an internet peer), \`vpc-cni agent\` serves it (IMDS,
EC2 through the SDK, host plan applied in the node namespace, warm pool, plugin socket, install-cni), and N pods
(default 7: more than the primary ENI holds, so a second ENI is attached) are wired by the installed aws-cni
executable, run as a container runtime runs it. Each pod pings the node, the VPC peer, the internet peer (through
SNAT) and the next pod; then every pod is deleted and everything the demo created is removed.

Needs root (network namespaces). Without root it says so and shows the no-root path instead:
\`vpc-cni plan\` of the bundled example node.

Flags:
  --pods N            pods to wire, 1-15 (t3.medium holds 15)
  -o, --output FORMAT text (default) or json

Exit codes: 0 every pod wired and reached every peer, 1 a failure (named on stderr), 2 a pod did not reach a peer.
`,
  options: { pods: { type: 'string', default: '7' }, ...outputOption },
  async run(input) {
    const output = outputFormat(input.values);
    const pods = Number(input.values.pods);
    if (!Number.isInteger(pods) || pods < 1 || pods > 15)
      throw new UsageError(`--pods must be 1-15, got ${String(input.values.pods).slice(0, 20)}`);
    if (process.getuid?.() !== 0) {
      input.io.stderr(
        'vpc-cni demo needs root to create network namespaces; showing the no-root path instead: the plan of the bundled example node\n',
      );
      const { plan } = await import('./plan.ts');
      return plan.run({
        ...input,
        values: {
          node: packageFile('examples', 'nodes', 'm5-large-single-eni.json'),
          configmap: packageFile('examples', 'configs', 'defaults', 'configmap.yaml'),
          output: output,
          offline: true,
        },
        positionals: [],
      });
    }
    const { pods: outcomes, sims } = await demoOnNode(input, pods);
    input.io.stdout(output === 'json' ? `${JSON.stringify({ pods: outcomes }, null, 2)}\n` : table(outcomes, sims));
    const allReached = outcomes.every((p) => Object.values(p.reaches).every(Boolean));
    return allReached ? 0 : 2;
  },
};
