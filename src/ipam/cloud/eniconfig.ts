/**
 * Custom networking: the node's ENIConfig (`crd.k8s.amazonaws.com/v1alpha1`, cluster-scoped) names the subnet and
 * security groups for new ENIs. Which ENIConfig: label `vpc.amazonaws.com/externalEniConfig`, then the annotation
 * ENI_CONFIG_ANNOTATION_DEF, then the label ENI_CONFIG_LABEL_DEF, then `default` (reference §8.1).
 */
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';

export const EXTERNAL_ENICONFIG_LABEL = 'vpc.amazonaws.com/externalEniConfig';

export interface EniConfigKeys {
  /** ENI_CONFIG_LABEL_DEF */
  readonly label: string;
  /** ENI_CONFIG_ANNOTATION_DEF */
  readonly annotation: string;
}

export interface EniConfig {
  readonly name: string;
  readonly subnet: string;
  readonly securityGroups: readonly string[];
}

export function eniConfigName(
  node: { readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> },
  keys: EniConfigKeys,
): string {
  return (
    node.labels?.[EXTERNAL_ENICONFIG_LABEL] ??
    node.annotations?.[keys.annotation] ??
    node.labels?.[keys.label] ??
    'default'
  );
}

/** Reads the node, picks its ENIConfig and returns it; a missing or subnet-less ENIConfig is an error naming both. */
export async function readEniConfig(kubeconfig: KubeConfig, nodeName: string, keys: EniConfigKeys): Promise<EniConfig> {
  const node = await kubeconfig.makeApiClient(CoreV1Api).readNode({ name: nodeName });
  const name = eniConfigName(
    { labels: node.metadata?.labels ?? {}, annotations: node.metadata?.annotations ?? {} },
    keys,
  );
  let object: { spec?: { subnet?: unknown; securityGroups?: unknown } };
  try {
    object = await kubeconfig.makeApiClient(CustomObjectsApi).getClusterCustomObject({
      group: 'crd.k8s.amazonaws.com',
      version: 'v1alpha1',
      plural: 'eniconfigs',
      name,
    });
  } catch (error) {
    throw new Error(`custom networking: ENIConfig "${name}" for node ${nodeName} not readable`, { cause: error });
  }
  const subnet = object.spec?.subnet;
  if (typeof subnet !== 'string' || subnet === '') {
    throw new Error(`custom networking: ENIConfig "${name}" has no spec.subnet`);
  }
  const groups = Array.isArray(object.spec?.securityGroups) ? object.spec.securityGroups.map(String) : [];
  return { name, subnet, securityGroups: groups };
}

/** Same, with a kubeconfig file (the simulator's, or a node's). */
/** `kubeconfigPath` undefined: KUBECONFIG, else the pod's service account (the DaemonSet's case). */
export function readEniConfigWith(
  kubeconfigPath: string | undefined,
  nodeName: string,
  keys: EniConfigKeys,
): Promise<EniConfig> {
  const kubeconfig = new KubeConfig();
  if (kubeconfigPath === undefined) kubeconfig.loadFromDefault();
  else kubeconfig.loadFromFile(kubeconfigPath);
  return readEniConfig(kubeconfig, nodeName, keys);
}
