/**
 * The CNI network configuration list the container runtime reads from the conf dir: `aws-cni`, then `portmap`, as the
 * Amazon VPC CNI's entrypoint writes 10-aws.conflist (reference §1.4), plus the agent socket the plugin talks to.
 */
import type { Config } from '../compiler/settings/index.ts';

export const CONFLIST_NAME = '10-aws.conflist';
export const NETWORK_NAME = 'aws-cni';

/** The plugin's netconf fields that come from configuration. */
export interface PluginNetconf {
  readonly vethPrefix: string;
  readonly mtu: number;
  readonly podSGEnforcingMode: string;
  readonly pluginLogFile: string;
  readonly pluginLogLevel: string;
}

/** The settings behind each field, by the reference's names (POD_MTU follows AWS_VPC_ENI_MTU when unset). */
export function netconfFromConfig(config: Config): PluginNetconf {
  return {
    vethPrefix: config.AWS_VPC_K8S_CNI_VETHPREFIX,
    mtu: config.POD_MTU,
    podSGEnforcingMode: config.POD_SECURITY_GROUP_ENFORCING_MODE,
    pluginLogFile: config.AWS_VPC_K8S_PLUGIN_LOG_FILE,
    pluginLogLevel: config.AWS_VPC_K8S_PLUGIN_LOG_LEVEL,
  };
}

/** The file's text: stable field order and a final newline, so an unchanged config gives identical bytes. */
export function renderConflist(netconf: PluginNetconf, agentSocket: string): string {
  const list = {
    cniVersion: '0.4.0',
    name: NETWORK_NAME,
    disableCheck: true,
    plugins: [
      {
        name: 'aws-cni',
        type: 'aws-cni',
        vethPrefix: netconf.vethPrefix,
        // A string, as the reference writes it and its plugin parses it.
        mtu: String(netconf.mtu),
        podSGEnforcingMode: netconf.podSGEnforcingMode,
        pluginLogFile: netconf.pluginLogFile,
        pluginLogLevel: netconf.pluginLogLevel,
        capabilities: { 'io.kubernetes.cri.pod-annotations': true },
        agentSocket,
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
  return `${JSON.stringify(list, null, 2)}\n`;
}
