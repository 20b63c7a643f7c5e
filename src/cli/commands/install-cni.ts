import { netconfFromConfig } from '../../agent/conflist.ts';
import { DEFAULT_AGENT_SOCKET, type InstallReport, installCni } from '../../agent/install-cni.ts';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';
import { reportConfigIssues } from '../config-issues.ts';

function flag(values: Record<string, unknown>, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

function describe(report: InstallReport): string {
  const plugin = report.plugin.changed
    ? `installed ${report.plugin.path}${report.plugin.built ? ` (built in ${((report.plugin.buildMs ?? 0) / 1000).toFixed(1)} s)` : ''}`
    : `${report.plugin.path} unchanged`;
  const conflist = report.conflist.changed ? `wrote ${report.conflist.path}` : `${report.conflist.path} unchanged`;
  return `${plugin}\n${conflist}\n`;
}

export const installCniCommand: Command = {
  name: 'install-cni',
  help: `Usage: vpc-cni install-cni [--bin-dir DIR] [--conf-dir DIR] [--socket PATH] [--environment-file FILE]
                           [--configmap FILE] [--output text|json]

Installs the aws-cni plugin for the container runtime: DIR/aws-cni, one self-contained executable (a Node single
executable application of the plugin, so the host needs no Node.js; built from this Node on first use and cached
in the vpc-cni cache dir, about 5 s), and CONFDIR/10-aws.conflist (aws-cni, then portmap, as the Amazon VPC CNI
writes it). Each file is replaced atomically and only when its content differs: a second run changes nothing.
The conflist's vethPrefix, mtu, podSGEnforcingMode, pluginLogFile and pluginLogLevel come from the configuration
(AWS_VPC_K8S_CNI_VETHPREFIX, POD_MTU or AWS_VPC_ENI_MTU, POD_SECURITY_GROUP_ENFORCING_MODE,
AWS_VPC_K8S_PLUGIN_LOG_FILE, AWS_VPC_K8S_PLUGIN_LOG_LEVEL). The agent does this itself once it can serve pods.

Flags:
  --bin-dir DIR       where the plugin goes (default: HOST_CNI_BIN_PATH, /host/opt/cni/bin)
  --conf-dir DIR      where the conflist goes (default: HOST_CNI_CONFDIR_PATH, /host/etc/cni/net.d)
  --socket PATH       the agent socket the plugin calls (default: ${DEFAULT_AGENT_SOCKET})
${configOptionsHelp}
  -o, --output FORMAT text (default) or json: {"plugin": {"path", "changed", "sha256", "built"}, "conflist": {...}}

Paths must be absolute, without a .. segment; both directories must exist.
Exit codes: 0 installed or already up to date, 1 invalid configuration, a refused path or a failed write.
`,
  options: {
    'bin-dir': { type: 'string' },
    'conf-dir': { type: 'string' },
    socket: { type: 'string' },
    ...configOptions,
    ...outputOption,
  },
  async run({ values, io }) {
    const output = outputFormat(values);
    const loaded = await loadConfigFromFlags(values, io.env);
    if (!reportConfigIssues(loaded, io)) return 1;
    const report = await installCni({
      binDir: flag(values, 'bin-dir') ?? loaded.config.HOST_CNI_BIN_PATH,
      confDir: flag(values, 'conf-dir') ?? loaded.config.HOST_CNI_CONFDIR_PATH,
      socketPath: flag(values, 'socket') ?? DEFAULT_AGENT_SOCKET,
      netconf: netconfFromConfig(loaded.config),
    });
    io.stdout(output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    return 0;
  },
};
