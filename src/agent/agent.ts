/**
 * The node agent, in the order the reference's aws-node starts: learn the node from IMDS, build and start the IPAM
 * engine (EC2 view, checkpoint restore), converge the host network with the checkpoint's pods, fill the warm pool,
 * open the socket, and only then install the plugin and its conflist, so the runtime sends pods only to a node that
 * can serve them. Then the pool loop runs every 5 s; after an ENI is attached the host network is converged again
 * before any of its addresses is handed out (ADD waits on it).
 */
import { join } from 'node:path';
import { currentNetns, namedNetns, Runner } from '../apply/run.ts';
import type { Config } from '../compiler/settings/index.ts';
import { ImdsClient, imdsEndpoint, readIpamNode } from '../ipam/cloud/imds.ts';
import { realClock } from '../ipam/cloud/rate.ts';
import { createNodeEngine, type NodeEngine } from '../ipam/node-engine.ts';
import { type IpcServer, serve } from '../ipc/server.ts';
import { AgentBus } from './bus.ts';
import { netconfFromConfig } from './conflist.ts';
import { createHandler } from './handlers.ts';
import { HostNetwork } from './host-network.ts';
import { type InstallReport, installCni } from './install-cni.ts';
import type { Log } from './log.ts';
import type { PluginExecutableOptions } from './plugin-executable.ts';

/** ipamd's pool loop period. */
export const LOOP_MS = 5_000;
/** How long an ADD waits for the pool to grow; the plugin gives the agent 30 s in all. */
const ADD_WAIT_MS = 15_000;
/** How long an ADD waits for a just-attached ENI to appear on the host. */
const ENI_READY_MS = 10_000;
/** Pool steps at start-up before the socket opens: enough to attach the ENIs a warm target asks for. */
const FILL_STEPS = 8;

export interface AgentOptions {
  readonly config: Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The node's host network namespace (tests); undefined = this process's own. */
  readonly netns?: string;
  readonly stateDir: string;
  readonly checkpointPath: string;
  readonly cniBinDir: string;
  readonly cniConfDir: string;
  readonly executable?: PluginExecutableOptions;
  readonly log: Log;
  readonly loopMs?: number;
  readonly lockDir?: string;
}

export interface Agent {
  readonly socketPath: string;
  readonly install: InstallReport;
  readonly node: NodeEngine;
  readonly host: HostNetwork;
  /** What happens in the agent, for its logs, metrics and Events. */
  readonly bus: AgentBus;
  /** Stops taking work, lets the step in progress end and closes the socket; the checkpoint is already on disk. */
  stop(): Promise<void>;
}

function eniIds(node: NodeEngine): string {
  return node.engine.store.eniIds().toSorted().join(',');
}

export async function startAgent(o: AgentOptions): Promise<Agent> {
  const { log, config } = o;
  const startedAt = performance.now();
  const bus = new AgentBus();
  let phase = 'reading the node from IMDS';
  let ready = false;
  const status = () => ({ ready, message: ready ? 'serving' : phase });

  const imds = new ImdsClient({ endpoint: imdsEndpoint(o.env) });
  const ipamNode = await readIpamNode(imds);
  log.info(
    `node ${ipamNode.facts.instanceId} (${ipamNode.facts.instanceType}, ${ipamNode.facts.availabilityZone}), primary ENI ${ipamNode.primaryEniId}`,
  );
  const runner = new Runner(o.netns === undefined ? currentNetns : namedNetns(o.netns));
  const node = await createNodeEngine({
    config,
    node: ipamNode,
    imds,
    ...(o.env.AWS_ENDPOINT_URL_EC2 ? { ec2Endpoint: o.env.AWS_ENDPOINT_URL_EC2 } : {}),
    // Keys in the given environment win (a test's, an env file's); otherwise the SDK's chain (IRSA, the node role).
    ...(o.env.AWS_ACCESS_KEY_ID && o.env.AWS_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: o.env.AWS_ACCESS_KEY_ID, secretAccessKey: o.env.AWS_SECRET_ACCESS_KEY } }
      : {}),
    checkpointPath: o.checkpointPath,
    clock: realClock,
    bucket: { ratePerSecond: 20, burst: 40 },
    backoff: { baseMs: 200, maxMs: 20_000 },
    kubernetes: {
      ...(o.env.KUBECONFIG ? { kubeconfigPath: o.env.KUBECONFIG } : {}),
      nodeName: o.env.MY_NODE_NAME ?? '',
    },
    podRoutes: async () => podRoutes(runner, config.AWS_VPC_K8S_CNI_VETHPREFIX),
  });
  for (const note of node.notes) log.warn(note);
  let server: IpcServer | undefined;
  try {
    phase = 'restoring the IPAM checkpoint and reconciling with EC2';
    await node.engine.start();
    log.info(`IPAM: ${node.engine.store.leases().length} pods restored from ${o.checkpointPath}`);

    const host = new HostNetwork({
      runner,
      config,
      imds,
      pods: () => node.engine.store.leases(),
      log,
      ...(o.lockDir === undefined ? {} : { lockDir: o.lockDir }),
    });
    phase = 'converging the host network';
    await host.sync();

    phase = 'filling the warm pool';
    for (let i = 0; i < FILL_STEPS; i++) {
      const before = eniIds(node);
      const done = await node.engine.step();
      if (eniIds(node) !== before) await host.sync();
      if (done.length === 0) break;
    }

    const socketPath = join(o.stateDir, 'agent.sock');
    server = await serve(
      socketPath,
      createHandler({
        engine: node.engine,
        vpcCidrs: () => host.last?.facts.enis[0]?.vpcCidrs ?? [],
        vethPrefix: config.AWS_VPC_K8S_CNI_VETHPREFIX,
        addWaitMs: ADD_WAIT_MS,
        status,
        eniReady: (eniId) => host.eniReady(eniId, ENI_READY_MS),
      }),
    );
    phase = 'installing the CNI plugin';
    const install = await installCni({
      binDir: o.cniBinDir,
      confDir: o.cniConfDir,
      socketPath,
      netconf: netconfFromConfig(config),
      ...(o.executable === undefined ? {} : { executable: o.executable }),
    });
    ready = true;
    bus.publish({ kind: 'ready', timeToReadyMs: performance.now() - startedAt });
    log.info(`ready: serving ${socketPath}; plugin ${install.plugin.path}, conflist ${install.conflist.path}`);

    const loop = startLoop(node, host, log, bus, o.loopMs ?? LOOP_MS);
    const open = server;
    return {
      socketPath,
      install,
      node,
      host,
      bus,
      async stop() {
        ready = false;
        phase = 'stopping';
        await loop.stop();
        await open.close();
        node.api.close();
        log.info('stopped');
      },
    };
  } catch (error) {
    await server?.close();
    node.api.close();
    throw error;
  }
}

function startLoop(
  node: NodeEngine,
  host: HostNetwork,
  log: Log,
  bus: AgentBus,
  periodMs: number,
): { stop(): Promise<void> } {
  let stopped = false;
  let consecutive = 0;
  let current: Promise<void> = Promise.resolve();
  const tick = async () => {
    const began = performance.now();
    const before = eniIds(node);
    const done = await node.engine.step();
    for (const action of done) log.info(`IPAM: ${action.kind}`);
    if (eniIds(node) !== before) await host.sync();
    consecutive = 0;
    bus.publish({ kind: 'loop-ok', loop: 'warm-pool', ms: performance.now() - began });
  };
  const timer = setInterval(() => {
    if (stopped) return;
    current = current.then(tick).catch((error: Error) => {
      consecutive++;
      bus.publish({ kind: 'loop-failed', loop: 'warm-pool', error: error.message, consecutive });
      log.error(`pool loop: ${error.message}`);
    });
  }, periodMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await current;
    },
  };
}

/** /32 routes to pod veths in the main table: the owners to recover when the checkpoint is refused. */
async function podRoutes(runner: Runner, vethPrefix: string): Promise<Array<{ ip: string; dev: string }>> {
  const { stdout } = await runner.ip(['-json', '-4', 'route', 'show', 'table', 'main', 'scope', 'link']);
  const routes = JSON.parse(stdout || '[]') as Array<{ dst?: unknown; dev?: unknown }>;
  return routes.flatMap((r) =>
    typeof r.dst === 'string' && typeof r.dev === 'string' && r.dev.startsWith(vethPrefix) && !r.dst.includes('/')
      ? [{ ip: r.dst, dev: r.dev }]
      : [],
  );
}
