/**
 * The agent's observability extensions from its configuration: the log following AWS_VPC_K8S_CNI_LOGLEVEL live, the
 * metrics and health listener (always: the probes need it; DISABLE_METRICS leaves only the probes) and the
 * introspection endpoint (unless DISABLE_INTROSPECTION). One place builds them for `vpc-cni agent` and the tests.
 */
import type { Config } from '../compiler/settings/index.ts';
import type { Ec2Api } from '../ipam/cloud/client.ts';
import type { ImdsClient } from '../ipam/cloud/imds.ts';
import { type BindAddress, DEFAULT_METRICS_BIND, METRICS_BIND_VARIABLE, parseBindAddress } from './endpoint.ts';
import { introspectionExtension } from './introspection.ts';
import type { Log } from './log.ts';
import { metricsExtension } from './metrics.ts';
import type { AgentExtension } from './view.ts';

export interface ObserveOptions {
  readonly config: Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly version: string;
  readonly imds: ImdsClient;
  readonly ec2: () => Ec2Api | undefined;
  /** --allow-remote-introspection. */
  readonly allowRemoteIntrospection: boolean;
  readonly onListening?: (name: 'metrics' | 'introspection', address: BindAddress) => void;
  readonly onError?: (message: string) => void;
  /** The agent's log; its level follows live changes of AWS_VPC_K8S_CNI_LOGLEVEL unless `--debug` pinned it. */
  readonly log?: { readonly log: Log; readonly pinned: boolean };
}

/** A live AWS_VPC_K8S_CNI_LOGLEVEL change (the ConfigMap) takes effect in the log at once. */
export function logLevelExtension(log: Log): AgentExtension {
  return {
    name: 'log-level',
    async start(view) {
      const unsubscribe = view.bus.subscribe((event) => {
        if (event.kind !== 'config-changed' || !event.applied.includes('AWS_VPC_K8S_CNI_LOGLEVEL')) return;
        const level = view.config().AWS_VPC_K8S_CNI_LOGLEVEL;
        log.setLevel(level);
        log.info(`log level is now ${level} (AWS_VPC_K8S_CNI_LOGLEVEL)`);
      });
      return { stop: async () => unsubscribe() };
    },
  };
}

/** Throws, naming the variable, for an address that cannot be used (the agent then does not start). */
export function observeExtensions(o: ObserveOptions): AgentExtension[] {
  const metrics = metricsExtension({
    bind: parseBindAddress(o.env[METRICS_BIND_VARIABLE] ?? DEFAULT_METRICS_BIND, METRICS_BIND_VARIABLE),
    metrics: !o.config.DISABLE_METRICS,
    version: o.version,
    onListening: (address) => o.onListening?.('metrics', address),
    onError: (message) => o.onError?.(`metrics: ${message}`),
  });
  const logLevel = o.log === undefined || o.log.pinned ? [] : [logLevelExtension(o.log.log)];
  if (o.config.DISABLE_INTROSPECTION) return [...logLevel, metrics];
  return [
    ...logLevel,
    metrics,
    introspectionExtension({
      bind: parseBindAddress(o.config.INTROSPECTION_BIND_ADDRESS, 'INTROSPECTION_BIND_ADDRESS'),
      allowRemote: o.allowRemoteIntrospection,
      imds: o.imds,
      ec2: o.ec2,
      onListening: (address) => o.onListening?.('introspection', address),
      onError: (message) => o.onError?.(`introspection: ${message}`),
    }),
  ];
}
