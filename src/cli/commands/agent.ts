import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import packageJson from '../../../package.json' with { type: 'json' };
import { startAgent } from '../../agent/agent.ts';
import { DRIFT_PERIOD_MS } from '../../agent/drift.ts';
import { formatBindAddress } from '../../agent/endpoint.ts';
import { checkPath } from '../../agent/install-cni.ts';
import { kubernetesConfigured, kubernetesExtension } from '../../agent/kube/extension.ts';
import { createLog, logDestination } from '../../agent/log.ts';
import { observeExtensions } from '../../agent/observe.ts';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { ImdsClient, imdsEndpoint } from '../../ipam/cloud/imds.ts';
import { type Command, UsageError } from '../command.ts';
import { reportConfigIssues } from '../config-issues.ts';

const DEFAULT_STATE_DIR = '/run/vpc-cni';

function flag(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

export const agentCommand: Command = {
  name: 'agent',
  help: `Usage: vpc-cni agent [--netns NAME] [--state-dir DIR] [--bin-dir DIR] [--conf-dir DIR]
                     [--environment-file FILE] [--configmap FILE] [--drift-period-ms MS]
                     [--log-format text|json] [--debug]
                     [--allow-remote-introspection]

Runs the node agent (what aws-node's ipamd and entrypoint do): reads the configuration (as \`validate\` does) and
the node from IMDSv2, starts the IPAM engine (EC2 view, checkpoint restore), applies the host plan with the
checkpoint's pods, fills the warm pool, opens the plugin's socket DIR/agent.sock (mode 0600), and only then
installs the aws-cni plugin and 10-aws.conflist, so the node takes pods only once it can serve them. A restart with
pods in a valid checkpoint serves them on IMDS's view of the ENIs before EC2 answers, then reconciles with EC2.
Then its loops run, each with jitter and backoff: the warm pool (5 s, and on each ADD/DEL), the EC2 reconcile (60 s),
the leaked-ENI sweep (hourly), VPC CIDR changes (60 s), and the host-plan drift repair (every drift period, and on
kernel change events: only the difference is applied, and each object put back is logged); the host network
converges again when an ENI comes or goes.

Endpoints come from the standard variables: AWS_EC2_METADATA_SERVICE_ENDPOINT (IMDS), AWS_ENDPOINT_URL_EC2 (EC2;
credentials from the SDK's chain), KUBECONFIG or the pod's service account (custom networking's ENIConfig; and, when either is there, the node's
Kubernetes side: its Node, pods and ENIConfig watched, the live kube-system/amazon-vpc-cni ConfigMap validated and
applied or refused, Events and annotations), MY_NODE_NAME (this node).

Flags:
  --netns NAME        treat network namespace NAME as the node's host network (every kernel read and write goes there)
  --state-dir DIR     the socket, and the IPAM checkpoint unless AWS_VPC_K8S_CNI_BACKING_STORE names one
                      (default ${DEFAULT_STATE_DIR}; the checkpoint then defaults to AWS_VPC_K8S_CNI_BACKING_STORE's default)
  --bin-dir DIR       where the plugin goes (default: HOST_CNI_BIN_PATH)
  --conf-dir DIR      where 10-aws.conflist goes (default: HOST_CNI_CONFDIR_PATH)
  --drift-period-ms MS  re-plan the host at least this often, kernel events or not (default ${DRIFT_PERIOD_MS})
${configOptionsHelp}
  --log-format F      text (default) or json (pino), one line per event
  --debug             log at debug whatever AWS_VPC_K8S_CNI_LOGLEVEL says (each apply step too)
  --allow-remote-introspection
                      serve introspection on a non-loopback INTROSPECTION_BIND_ADDRESS (it shows pods and the
                      configuration without authentication; refused without this flag)

Endpoints it serves: /metrics (Prometheus, the reference's awscni_* names), /healthz (liveness) and /readyz (200
only while ADD can be served, else 503 and why) on VPC_CNI_METRICS_BIND_ADDRESS (default 0.0.0.0:61678;
DISABLE_METRICS=true leaves only the probes); introspection (/v1/enis, /v1/status, /v1/pods, /v1/config,
/v1/plan, /v1/explain, /v1/doctor...) on INTROSPECTION_BIND_ADDRESS (default 127.0.0.1:61679; DISABLE_INTROSPECTION)
for \`vpc-cni status\`, \`explain\` and \`doctor\`.

Logs: at AWS_VPC_K8S_CNI_LOGLEVEL (debug, info, warn, error, fatal; default debug as the reference's), to
AWS_VPC_K8S_CNI_LOG_FILE (stdout, stderr or a file, appended to) when it is set, else to stderr.

SIGTERM or SIGINT: stop taking work, let the pool step in progress end, close the socket, exit 0.
Exit codes: 0 stopped by a signal, 1 invalid configuration or a start-up failure (named on stderr).
`,
  options: {
    netns: { type: 'string' },
    'state-dir': { type: 'string' },
    'bin-dir': { type: 'string' },
    'conf-dir': { type: 'string' },
    'drift-period-ms': { type: 'string' },
    'log-format': { type: 'string', default: 'text' },
    debug: { type: 'boolean' },
    'allow-remote-introspection': { type: 'boolean' },
    ...configOptions,
  },
  async run({ values, io }) {
    const format = values['log-format'];
    if (format !== 'text' && format !== 'json')
      throw new UsageError(`--log-format must be text or json, got ${String(format)}`);
    const loaded = await loadConfigFromFlags(values, io.env);
    if (!reportConfigIssues(loaded, io)) return 1;
    const log = createLog(
      logDestination(
        // The reference's default is a file under /host/var/log; unset, the log goes where `kubectl logs` reads.
        loaded.values.AWS_VPC_K8S_CNI_LOG_FILE?.source.kind === 'default'
          ? 'stderr'
          : loaded.config.AWS_VPC_K8S_CNI_LOG_FILE,
        io,
      ),
      format,
      values.debug === true ? 'debug' : loaded.config.AWS_VPC_K8S_CNI_LOGLEVEL,
    );
    const stateDirFlag = flag(values, 'state-dir');
    const stateDir = checkPath('--state-dir', stateDirFlag ?? DEFAULT_STATE_DIR);
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    // The checkpoint follows --state-dir unless the operator named one, as the DaemonSet's env does.
    const checkpointPath =
      io.env.AWS_VPC_K8S_CNI_BACKING_STORE === undefined && stateDirFlag !== undefined
        ? join(stateDir, 'ipam.json')
        : loaded.config.AWS_VPC_K8S_CNI_BACKING_STORE;
    const netns = flag(values, 'netns');
    const driftPeriod = flag(values, 'drift-period-ms');
    if (driftPeriod !== undefined && !/^[1-9][0-9]{0,8}$/.test(driftPeriod))
      throw new UsageError(`--drift-period-ms must be a whole number of milliseconds ≥ 1, got ${driftPeriod}`);
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      const extensions = observeExtensions({
        config: loaded.config,
        env: io.env,
        version: packageJson.version,
        imds: new ImdsClient({ endpoint: imdsEndpoint(io.env) }),
        ec2: () => agent?.node.api,
        allowRemoteIntrospection: values['allow-remote-introspection'] === true,
        onListening: (name, address) => log.info(`${name}: listening on ${formatBindAddress(address)}`),
        onError: (message) => log.error(message),
        log: { log, pinned: values.debug === true },
      });
      agent = await startAgent({
        config: loaded.config,
        values: loaded.values,
        env: io.env,
        ...(netns === undefined ? {} : { netns }),
        stateDir,
        checkpointPath,
        cniBinDir: flag(values, 'bin-dir') ?? loaded.config.HOST_CNI_BIN_PATH,
        cniConfDir: flag(values, 'conf-dir') ?? loaded.config.HOST_CNI_CONFDIR_PATH,
        ...(driftPeriod === undefined ? {} : { drift: { periodMs: Number(driftPeriod) } }),
        log,
        extensions: [
          ...extensions,
          ...(kubernetesConfigured(io.env)
            ? [
                kubernetesExtension({
                  env: io.env,
                  ...(typeof values['environment-file'] === 'string' ? { envFile: values['environment-file'] } : {}),
                  log,
                }),
              ]
            : []),
        ],
      });
    } catch (error) {
      log.error(`start-up failed: ${(error as Error).message}`);
      return 1;
    }
    const signal = await new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    log.info(`${signal}: stopping`);
    await agent.stop();
    return 0;
  },
};
