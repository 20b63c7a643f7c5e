import { stat } from 'node:fs/promises';
import { type LiveState, unreadLiveState } from '../apply/live.ts';
import { readForPlan } from '../apply/read.ts';
import { currentNetns, namedNetns, Runner } from '../apply/run.ts';
import type { PodAssignment } from '../compiler/compile.ts';
import { compileHostPlan, PlanError } from '../compiler/compile.ts';
import { type NodeFacts, parseNodeFacts } from '../compiler/facts.ts';
import type { HostPlan } from '../compiler/plan.ts';
import { podAssignments } from '../compiler/pod-assignments.ts';
import type { Config } from '../compiler/settings/index.ts';
import { formatIssue } from '../compiler/settings/index.ts';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../config/load.ts';
import { type CheckpointEntry, readCheckpoint } from '../ipam/checkpoint.ts';
import { ImdsClient, imdsEndpoint, readNodeFacts } from '../ipam/cloud/imds.ts';
import { readBoundedFile } from '../node/bounded-file.ts';
import { detectIptablesMode, type KernelLink, listLinks, withInterfaceNames } from '../node/host-facts.ts';
import type { CommandInput, Io } from './command.ts';

/**
 * What `plan` and `apply` share: config + node facts → HostPlan for the target namespace. Config or facts that cannot
 * make a plan end the command here, before anything reads or writes the kernel. `plan` then reads the live state
 * (`readLiveState`); `apply` leaves that to the applier, which reads it once, under the namespace's lock.
 */

export const hostPlanOptions = {
  ...configOptions,
  node: { type: 'string' },
  netns: { type: 'string' },
  'allow-foreign-node': { type: 'boolean' },
} as const;

export const hostPlanOptionsHelp = `${configOptionsHelp}
  --node FILE         node snapshot (JSON, schema/node.schema.json) instead of reading IMDS
                      (IMDS endpoint: $AWS_EC2_METADATA_SERVICE_ENDPOINT, default http://169.254.169.254)
  --netns NAME        work on the network namespace /var/run/netns/NAME instead of the current one
  --allow-foreign-node  plan this host's own network against a --node snapshot of another node (refused by
                      default: no ENI MAC of the snapshot is on this host, so the plan would rewire it for a
                      node it is not)`;

export interface HostPlanContext {
  readonly runner: Runner;
  readonly plan: HostPlan;
  /** The namespace planned against, as the header names it. */
  readonly target: string;
}

/** A failure the command reports on stderr and turns into exit 1 (bad config, bad snapshot, unreadable IMDS). */
export class InputError extends Error {
  override readonly name = 'InputError';
}

export function runnerFor(values: CommandInput['values']): Runner {
  const netns = values.netns as string | undefined;
  return new Runner(netns === undefined ? currentNetns : namedNetns(netns));
}

/** A snapshot is a few KiB even for 15 ENIs with prefixes; past this it is not one. */
const MAX_SNAPSHOT_BYTES = 1024 * 1024;

async function nodeFacts(values: CommandInput['values'], io: Io): Promise<NodeFacts> {
  const file = values.node as string | undefined;
  if (file === undefined) {
    io.stderr(`reading node facts from IMDS at ${imdsEndpoint(io.env)}\n`);
    return readNodeFacts(new ImdsClient({ endpoint: imdsEndpoint(io.env) }));
  }
  let text: string | undefined;
  try {
    text = await readBoundedFile(file, MAX_SNAPSHOT_BYTES);
  } catch (error) {
    throw new InputError(`cannot read node snapshot ${file}: ${(error as Error).message}`);
  }
  if (text === undefined) throw new InputError(`cannot read node snapshot ${file}: no such file`);
  try {
    return parseNodeFacts(JSON.parse(text), file);
  } catch (error) {
    throw new InputError(
      error instanceof SyntaxError ? `${file}: not JSON: ${error.message}` : (error as Error).message,
    );
  }
}

/**
 * The pods of the IPAM checkpoint at AWS_VPC_K8S_CNI_BACKING_STORE, so a node whose pods are wired plans no changes
 * (the agent plans with the same records). No checkpoint = pods unknown: their routes and rules are left alone. As in
 * the agent, a pod whose host veth does not exist is left out: its wiring is the plugin's, not the plan's, to make.
 */
async function checkpointPods(
  config: Config,
  facts: NodeFacts,
  links: readonly KernelLink[],
  io: Io,
): Promise<PodAssignment[] | undefined> {
  const path = config.AWS_VPC_K8S_CNI_BACKING_STORE;
  // readCheckpoint takes a missing file for a fresh node (no pods); here it means the pods are not known.
  if ((await stat(path).catch(() => undefined)) === undefined) return undefined;
  let entries: CheckpointEntry[];
  try {
    entries = await readCheckpoint(path);
  } catch (error) {
    throw new InputError(`cannot plan the pods of ${path}: ${(error as Error).message}`);
  }
  const names = new Set(links.map((l) => l.ifname));
  const { pods, skipped } = podAssignments(entries, facts, config.AWS_VPC_K8S_CNI_VETHPREFIX);
  const wired = pods.filter((p) => names.has(p.hostVeth));
  io.stderr(
    `pods: ${wired.length} wired of ${entries.length} in ${path}${skipped.length > 0 ? ` (${skipped.length} not plannable)` : ''}\n`,
  );
  return wired;
}

/**
 * A snapshot is of some node; planning this host's own network against one it is not would rewire the host for
 * someone else's ENIs. The MACs decide: they are the ENIs' identity, and a snapshot of this node carries them.
 * A named namespace is one the operator (or a test, or the simulator) laid out for the snapshot, so it is not checked.
 */
function refuseForeignSnapshot(values: CommandInput['values'], facts: NodeFacts, links: readonly KernelLink[]): void {
  if (values.node === undefined || values.netns !== undefined || values['allow-foreign-node'] === true) return;
  if (links.length === 0) return;
  const macs = new Set(links.map((l) => l.address?.toLowerCase()));
  if (facts.enis.some((e) => macs.has(e.mac.toLowerCase()))) return;
  throw new InputError(
    `the snapshot ${String(values.node)} is of node ${facts.instanceId}, and none of its ENI MACs (primary ${facts.primaryMac}) is on this host: planning this host against it would rewire the host for another node. Plan a namespace laid out for it (--netns NAME), plan offline (plan --offline), or pass --allow-foreign-node`,
  );
}

function targetName(values: CommandInput['values']): string {
  const netns = values.netns as string | undefined;
  return netns === undefined ? "this host's network namespace" : `network namespace ${netns}`;
}

/** Loads config and facts, names the ENIs by MAC from the live links and compiles the plan. */
export async function prepareHostPlan(
  input: CommandInput,
  options: { offline?: boolean } = {},
): Promise<HostPlanContext> {
  const { values, io } = input;
  const loaded = await loadConfigFromFlags(values, io.env);
  if (!loaded.ok) {
    throw new InputError(
      `invalid configuration, nothing planned or applied:\n${loaded.errors.map(formatIssue).join('\n')}`,
    );
  }
  const runner = runnerFor(values);
  const imdsFacts = await nodeFacts(values, io);
  // IMDS cannot know the node's iptables backend: detect it as the agent does (a snapshot states its own).
  const facts =
    values.node === undefined && options.offline !== true
      ? { ...imdsFacts, iptablesMode: await detectIptablesMode(runner) }
      : imdsFacts;
  // Without the links (no such namespace) the ENIs keep the names the snapshot gives them, if any.
  const links = options.offline === true ? [] : await listLinks(runner).catch(() => []);
  refuseForeignSnapshot(values, facts, links);
  const named = withInterfaceNames(facts, links).facts;
  const pods = await checkpointPods(loaded.config, named, links, io);
  let plan: HostPlan;
  try {
    plan = compileHostPlan(loaded.config, named, pods);
  } catch (error) {
    if (error instanceof PlanError) throw new InputError(error.message);
    throw error;
  }
  const target = options.offline === true ? 'no namespace (offline: against an empty node)' : targetName(values);
  io.stderr(`planning node ${facts.instanceId} (${facts.instanceType}, ${facts.availabilityZone}) against ${target}\n`);
  return { runner, plan, target };
}

/**
 * The live state the plan is diffed against. A read that fails (not root, a mistyped --netns, output the parser
 * cannot take) is an error: a plan against a node that was not observed would claim changes nobody can trust. An
 * offline plan, against an empty node, is the operator's explicit choice (`--offline`).
 */
export async function readLiveState(context: HostPlanContext, offline: boolean): Promise<LiveState> {
  if (offline) return unreadLiveState('offline plan');
  try {
    return await readForPlan(context.runner, context.plan);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    // Reading iptables, nftables and other namespaces needs root; say so first rather than leave it to the tool's text.
    const root = process.getuid?.() === 0;
    throw new InputError(
      `cannot read the live state of ${context.target} (${root ? '' : 'not root: '}${reason}); nothing planned. ${root ? 'Check --netns, or' : 'Run as root, or'} pass --offline to plan against an empty node`,
    );
  }
}
