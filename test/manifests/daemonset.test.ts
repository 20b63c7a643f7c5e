import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import test from 'ava';
import { DEFAULT_METRICS_BIND, METRICS_BIND_VARIABLE, parseBindAddress } from '../../src/agent/endpoint.ts';
import { healthAndMetrics } from '../../src/agent/metrics.ts';
import { commands } from '../../src/cli/commands/index.ts';
import { generatedCatalog } from '../../src/compiler/settings/index.ts';
import { loadConfig } from '../../src/config/load.ts';
import { manifestDocuments, manifestsDir, only } from './support.ts';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts: { name: string; mountPath: string }[];
}
interface PodSpec {
  hostNetwork?: boolean;
  priorityClassName?: string;
  tolerations?: unknown[];
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string } }[];
}

async function agentPod(): Promise<{ pod: PodSpec; agent: Container }> {
  const daemonSet = only(await manifestDocuments(), 'DaemonSet');
  const pod = (daemonSet.spec as { template: { spec: PodSpec } }).template.spec;
  return { pod, agent: pod.containers.find((c) => c.name === 'vpc-cni')! };
}

/** What the kubelet fills in from the downward API, by field path. */
const DOWNWARD: Readonly<Record<string, string>> = {
  'spec.nodeName': 'ip-10-0-0-10.us-west-2.compute.internal',
  'metadata.name': 'vpc-cni-x7k2p',
};

/** The agent's environment as the kubelet gives it: literal values, downward-API fields resolved. */
function environment(agent: Container): Record<string, string> {
  return Object.fromEntries(
    (agent.env ?? []).map((e) => [e.name, e.value ?? DOWNWARD[e.valueFrom?.fieldRef?.fieldPath ?? ''] ?? '']),
  );
}

test('every env key is a known setting, set once; with the shipped ConfigMap they parse with no error and no warning', async (t) => {
  const { agent } = await agentPod();
  const names = (agent.env ?? []).map((e) => e.name);
  t.deepEqual([...new Set(names)], names, 'a key set twice: the kubelet keeps the last, silently');
  const catalog = generatedCatalog();
  t.deepEqual(
    names.filter((name) => catalog[name] === undefined),
    [],
  );
  for (const e of agent.env ?? []) {
    if (e.valueFrom !== undefined) t.true((e.valueFrom.fieldRef?.fieldPath ?? '') in DOWNWARD, e.name);
  }
  const loaded = await loadConfig({
    env: environment(agent),
    configMap: new URL('amazon-vpc-cni.configmap.yaml', manifestsDir).pathname,
  });
  t.true(loaded.ok, JSON.stringify(!loaded.ok && loaded.errors));
  t.deepEqual(loaded.warnings, []);
  // The agent names its node by MY_NODE_NAME, which only the downward API can know.
  t.is(loaded.values.MY_NODE_NAME?.value, DOWNWARD['spec.nodeName']);
});

test("the agent's command line is one `vpc-cni agent` accepts", async (t) => {
  const { agent } = await agentPod();
  t.deepEqual(agent.command, ['vpc-cni']);
  const [name, ...rest] = agent.args ?? [];
  const command = await commands.find((c) => c.name === name)!.load();
  t.notThrows(() => parseArgs({ args: rest, options: command.options, strict: true, allowPositionals: false }));
});

test('the files the agent and the plugin share with the host are where both look for them', async (t) => {
  const { pod, agent } = await agentPod();
  const loaded = await loadConfig({ env: environment(agent) });
  if (!loaded.ok) return t.fail(JSON.stringify(loaded.errors));
  const { config } = loaded;
  const hostPathOf = (containerPath: string): string | undefined => {
    const mount = agent.volumeMounts.find(
      (m) => containerPath === m.mountPath || containerPath.startsWith(`${m.mountPath}/`),
    );
    const volume = pod.volumes.find((v) => v.name === mount?.name)?.hostPath?.path;
    return mount && volume && `${volume}${containerPath.slice(mount.mountPath.length)}`;
  };
  const args = agent.args ?? [];
  const stateDir = args[args.indexOf('--state-dir') + 1]!;
  t.deepEqual(
    {
      plugins: hostPathOf(config.HOST_CNI_BIN_PATH),
      conflist: hostPathOf(config.HOST_CNI_CONFDIR_PATH),
      agentLog: hostPathOf(dirname(config.AWS_VPC_K8S_CNI_LOG_FILE)),
      // The checkpoint is aws-node's file, read in place: a switch takes it over and a switch back finds it current.
      checkpoint: hostPathOf(config.AWS_VPC_K8S_CNI_BACKING_STORE),
      // The conflist gives the plugin the socket's path as the agent sees it; the plugin runs on the host.
      socketDir: hostPathOf(stateDir),
      xtablesLock: hostPathOf('/run/xtables.lock'),
    },
    {
      plugins: '/opt/cni/bin',
      conflist: '/etc/cni/net.d',
      agentLog: '/var/log/aws-routed-eni',
      checkpoint: '/var/run/aws-node/ipam.json',
      socketDir: stateDir,
      xtablesLock: '/run/xtables.lock',
    },
  );
  // The plugin writes its own log on the host (a host path in the conflist), beside the agent's: the directory the
  // pod creates (DirectoryOrCreate), which aws-cni-support.sh and the EKS log collector gather.
  t.is(hostPathOf(dirname(config.AWS_VPC_K8S_CNI_LOG_FILE)), dirname(config.AWS_VPC_K8S_PLUGIN_LOG_FILE));
  // The init container installs the upstream plugins into the directory the agent installs aws-cni into.
  t.deepEqual(pod.initContainers?.[0]?.volumeMounts, [{ name: 'cni-bin-dir', mountPath: config.HOST_CNI_BIN_PATH }]);
});

test('the probes ask what the agent serves: /readyz (503 until it can serve ADD) and /healthz on the metrics port', async (t) => {
  const { pod, agent } = await agentPod();
  t.true(pod.hostNetwork);
  t.is(pod.priorityClassName, 'system-node-critical');
  t.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
  // The listener binds its default (no override in the env), which is the port the container declares and probes.
  t.false((agent.env ?? []).some((e) => e.name === METRICS_BIND_VARIABLE));
  const bind = parseBindAddress(DEFAULT_METRICS_BIND, 'default');
  if (bind.kind !== 'tcp') return t.fail(DEFAULT_METRICS_BIND);
  t.deepEqual(agent.ports, [{ name: 'metrics', containerPort: bind.port, protocol: 'TCP' }]);
  const readiness = agent.readinessProbe?.httpGet;
  const liveness = agent.livenessProbe?.httpGet;
  t.is(readiness?.port, bind.port);
  t.is(liveness?.port, bind.port);
  // The kubelet counts 200-399 as success. Not ready must fail readiness and leave liveness alone: an agent waiting
  // for EC2 is not restarted for it.
  const answer = async (path: string | undefined, ready: boolean) =>
    (
      await healthAndMetrics(
        { readiness: () => ({ ready, reason: ready ? 'serving' : 'restoring' }) },
        undefined,
        path ?? '',
      )
    ).status;
  t.deepEqual(
    {
      readyWhenReady: await answer(readiness?.path, true),
      readyWhenNot: await answer(readiness?.path, false),
      aliveWhenReady: await answer(liveness?.path, true),
      aliveWhenNot: await answer(liveness?.path, false),
    },
    { readyWhenReady: 200, readyWhenNot: 503, aliveWhenReady: 200, aliveWhenNot: 200 },
  );
});

/**
 * aws-node's environment as config/master/aws-k8s-cni.yaml (v1.23.1) sets it, both containers
 * (reference: aws-vpc-cni-host-network.md §1.1); downward-API values as `fieldRef:PATH`.
 */
const AWS_NODE_ENV: Readonly<Record<string, string>> = {
  // aws-vpc-cni-init
  DISABLE_TCP_EARLY_DEMUX: 'false',
  ENABLE_IPv6: 'false',
  // aws-node
  ADDITIONAL_ENI_TAGS: '{}',
  AWS_VPC_CNI_NODE_PORT_SUPPORT: 'true',
  AWS_VPC_ENI_MTU: '9001',
  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'false',
  AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false',
  AWS_VPC_K8S_CNI_LOGLEVEL: 'DEBUG',
  AWS_VPC_K8S_CNI_LOG_FILE: '/host/var/log/aws-routed-eni/ipamd.log',
  AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'prng',
  AWS_VPC_K8S_CNI_VETHPREFIX: 'eni',
  AWS_VPC_K8S_PLUGIN_LOG_FILE: '/var/log/aws-routed-eni/plugin.log',
  AWS_VPC_K8S_PLUGIN_LOG_LEVEL: 'DEBUG',
  DISABLE_INTROSPECTION: 'false',
  DISABLE_METRICS: 'false',
  DISABLE_NETWORK_RESOURCE_PROVISIONING: 'false',
  ENABLE_IMDS_ONLY_MODE: 'false',
  ENABLE_IPv4: 'true',
  ENABLE_MULTI_NIC: 'false',
  ENABLE_POD_ENI: 'false',
  ENABLE_PREFIX_DELEGATION: 'false',
  ENABLE_SUBNET_DISCOVERY: 'true',
  NETWORK_POLICY_ENFORCING_MODE: 'standard',
  VPC_CNI_VERSION: 'v1.23.1',
  WARM_ENI_TARGET: '1',
  WARM_PREFIX_TARGET: '1',
  MY_NODE_NAME: 'fieldRef:spec.nodeName',
  MY_POD_NAME: 'fieldRef:metadata.name',
};

test("the environment is aws-node's, so a switch changes no setting (docs/switching.md lists the differences)", async (t) => {
  const { agent } = await agentPod();
  const ours = Object.fromEntries(
    (agent.env ?? []).map((e) => [e.name, e.value ?? `fieldRef:${e.valueFrom?.fieldRef?.fieldPath}`]),
  );
  // vpc-cni reports its own version.
  const { VPC_CNI_VERSION: _, ...theirs } = AWS_NODE_ENV;
  const onlyOurs = Object.fromEntries(Object.entries(ours).filter(([name]) => !(name in theirs)));
  t.deepEqual(Object.fromEntries(Object.entries(ours).filter(([name]) => name in theirs)), theirs);
  // What vpc-cni writes out beyond aws-node is each setting at its default: the same value either way.
  t.deepEqual(Object.keys(onlyOurs).sort(), [
    'ANNOTATE_POD_IP',
    'AWS_VPC_K8S_CNI_BACKING_STORE',
    'HOST_CNI_BIN_PATH',
    'HOST_CNI_CONFDIR_PATH',
  ]);
  const catalog = generatedCatalog();
  for (const [name, value] of Object.entries(onlyOurs)) t.is(value, String(catalog[name]?.default), name);
});
