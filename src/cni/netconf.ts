/**
 * The plugin's inputs, all untrusted: the network configuration on stdin and the CNI_* variables. Every value that
 * reaches a kernel command or a path is checked here by its grammar; a bad one is a spec error and nothing is created.
 */
import * as z from 'zod';
import { Attachment } from '../ipc/protocol.ts';
import { describeIssues, plainMessages, shownValue } from '../lib/issues.ts';
import { CniError, type Command, ErrorCode } from './spec.ts';

export const DEFAULT_AGENT_SOCKET = '/run/vpc-cni/agent.sock';
/** The agent waits (bounded) for the pool while an ENI attaches; the plugin waits a little longer than that. */
const DEFAULT_AGENT_TIMEOUT_MS = 30_000;

// Host veth = prefix + 11 hex digits, and Linux names are at most 15 bytes: the reference refuses prefixes over 4.
const vethPrefix = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_]{0,3}$/,
    'vethPrefix must be 1 to 4 letters, digits or _ (starting with a letter or digit)',
  );
const mtu = z
  .string()
  .regex(/^[0-9]{3,5}$/, 'mtu must be a decimal string such as "9001"')
  .transform(Number)
  .refine((n) => n >= 576 && n <= 9001, 'mtu must be between 576 and 9001');
const socketPath = z
  .string()
  .max(107, 'agentSocket is longer than a Unix socket path may be (107 bytes)')
  .regex(/^\/[A-Za-z0-9_./-]+$/, 'agentSocket must be an absolute path of letters, digits, _ . / -')
  .refine((s) => !s.split('/').includes('..'), 'agentSocket must not contain ..');
// As the reference: a path or stderr ('' = stderr). stdout carries the CNI result, so a log there would corrupt it.
const pluginLogFile = z
  .string()
  .max(4096)
  .regex(
    /^(|stderr|\/[A-Za-z0-9_./-]+)$/,
    'pluginLogFile must be stderr, empty (stderr) or an absolute path of letters, digits, _ . / -',
  )
  .refine((s) => !s.split('/').includes('..'), 'pluginLogFile must not contain ..');

const ValidAttachment = z.strictObject({
  containerID: Attachment.shape.containerId,
  ifname: Attachment.shape.ifName,
});

export const NetConf = z.looseObject({
  cniVersion: z.string().max(16),
  name: Attachment.shape.networkName.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'name must be a CNI network name'),
  type: z.string().max(64).optional(),
  vethPrefix: vethPrefix.default('eni'),
  mtu: mtu.default(9001),
  podSGEnforcingMode: z.enum(['strict', 'standard']).default('strict'),
  pluginLogFile: pluginLogFile.optional(),
  pluginLogLevel: z.string().max(16).optional(),
  agentSocket: socketPath.default(DEFAULT_AGENT_SOCKET),
  agentTimeoutMs: z.int().min(100).max(300_000).default(DEFAULT_AGENT_TIMEOUT_MS),
  prevResult: z.unknown().optional(),
  runtimeConfig: z.looseObject({}).optional(),
  'cni.dev/valid-attachments': z.array(ValidAttachment).max(65536).optional(),
});
export type NetConf = z.infer<typeof NetConf>;

const shown = shownValue;

export function parseNetConf(stdin: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (error) {
    throw new CniError(
      ErrorCode.decodingFailure,
      `network configuration on stdin is not JSON: ${(error as Error).message}`,
    );
  }
  const parsed = NetConf.safeParse(raw, { error: plainMessages });
  if (!parsed.success) {
    throw new CniError(
      ErrorCode.invalidNetworkConfig,
      `network configuration refused: ${describeIssues(parsed.error, raw).join('; ')}`,
    );
  }
  return parsed.data;
}

/** CNI_ARGS: `K=V;K=V`. Only the Kubernetes keys are read; a key we do not know is ignored, as the spec allows. */
const CniArgs = z.object({
  K8S_POD_NAMESPACE: Attachment.shape.podNamespace.optional(),
  K8S_POD_NAME: Attachment.shape.podName.optional(),
  K8S_POD_INFRA_CONTAINER_ID: z.union([Attachment.shape.containerId, z.literal('')]).optional(),
});

function parseCniArgs(raw: string | undefined): z.infer<typeof CniArgs> {
  if (raw === undefined || raw === '') return {};
  if (raw.length > 4096) throw new CniError(ErrorCode.invalidEnvironment, 'CNI_ARGS is longer than 4096 characters');
  const pairs: Record<string, string> = {};
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new CniError(ErrorCode.invalidEnvironment, `CNI_ARGS item ${shown(part)} is not KEY=VALUE`);
    pairs[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const parsed = CniArgs.safeParse(pairs);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0] ?? '');
    throw new CniError(
      ErrorCode.invalidEnvironment,
      `CNI_ARGS ${key}=${shown(pairs[key] ?? '')} is not a Kubernetes name`,
    );
  }
  return parsed.data;
}

/** What one invocation is about, from CNI_*; `netns` is empty for a DEL whose namespace is gone. */
export interface Invocation {
  readonly containerId: string;
  readonly ifName: string;
  readonly netns: string;
  readonly podNamespace: string;
  readonly podName: string;
  readonly infraContainerId: string;
}

function envValue(env: NodeJS.ProcessEnv, key: string, schema: z.ZodType<string>, what: string): string {
  const value = env[key];
  if (value === undefined || value === '') throw new CniError(ErrorCode.invalidEnvironment, `${key} is not set`);
  if (!schema.safeParse(value).success) {
    throw new CniError(ErrorCode.invalidEnvironment, `${key} ${shown(value)} is not allowed: ${what}`);
  }
  return value;
}

export function parseInvocation(command: Command, env: NodeJS.ProcessEnv): Invocation {
  const containerId = envValue(env, 'CNI_CONTAINERID', Attachment.shape.containerId, 'letters, digits, _ . - (no ..)');
  const ifName = envValue(
    env,
    'CNI_IFNAME',
    Attachment.shape.ifName,
    'a Linux interface name (1-15 of letters, digits, _ . -)',
  );
  const netnsGiven = env.CNI_NETNS !== undefined && env.CNI_NETNS !== '';
  // DEL and GC may come after the runtime destroyed the namespace; everything else needs one.
  const netns =
    netnsGiven || command !== 'DEL'
      ? envValue(
          env,
          'CNI_NETNS',
          Attachment.shape.netns,
          'a path /proc/<pid>/ns/net, /var/run/netns/<name> or /run/netns/<name>',
        )
      : '';
  const args = parseCniArgs(env.CNI_ARGS);
  return {
    containerId,
    ifName,
    netns,
    podNamespace: args.K8S_POD_NAMESPACE ?? '',
    podName: args.K8S_POD_NAME ?? '',
    infraContainerId: args.K8S_POD_INFRA_CONTAINER_ID ?? '',
  };
}
