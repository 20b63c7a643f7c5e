/**
 * The plugin's commands. Each reads as parse → ask the agent → wire → result, like the reference plugins of
 * containernetworking/plugins; VERSION is answered in main.ts without loading any of this.
 */

import { IpcError } from '../ipc/client.ts';
import type { Assignment, Attachment } from '../ipc/protocol.ts';
import { hostVethName } from '../lib/pod-wiring.ts';
import { ask, toCniError } from './agent.ts';
import { logLevelOf, writePluginLog } from './log.ts';
import { type Invocation, type NetConf, parseInvocation, parseNetConf } from './netconf.ts';
import { addResult, MAIN_TABLE, type Wiring, wiringFromPrevResult } from './result.ts';
import { CniError, type Command, ErrorCode, requireVersion } from './spec.ts';
import { hostMac, inspectPod, PodWiring, unwirePod, type VethPair } from './wire.ts';

function attachmentOf(conf: NetConf, inv: Invocation): Attachment {
  return {
    containerId: inv.containerId,
    netns: inv.netns,
    ifName: inv.ifName,
    podNamespace: inv.podNamespace,
    podName: inv.podName,
    infraContainerId: inv.infraContainerId,
    networkName: conf.name,
  };
}

function podHostVeth(conf: NetConf, inv: Invocation): string {
  if (inv.podNamespace === '' || inv.podName === '') {
    throw new CniError(
      ErrorCode.invalidEnvironment,
      'CNI_ARGS must name the pod with K8S_POD_NAMESPACE and K8S_POD_NAME',
    );
  }
  return hostVethName(conf.vethPrefix, inv.podNamespace, inv.podName);
}

function addressing(a: Assignment): Pick<Wiring, 'ip' | 'table' | 'deviceNumber'> {
  return { ip: a.address, table: a.routeTable ?? MAIN_TABLE, deviceNumber: a.deviceNumber };
}

async function add(conf: NetConf, env: NodeJS.ProcessEnv): Promise<unknown> {
  const version = requireVersion('ADD', conf.cniVersion);
  const inv = parseInvocation('ADD', env);
  const hostVeth = podHostVeth(conf, inv);
  const attachment = attachmentOf(conf, inv);
  const pair: VethPair = { hostVeth, hostMac: hostMac(), ifName: inv.ifName, netns: inv.netns };
  // The pair needs no address: it is made while the agent picks one, and taken down again if none comes. It is begun
  // once the request is on its way, as starting a process blocks this thread until the process has exec'd; the host
  // side's batch is started as the answer arrives, to wait for the apply lock while the answer is read.
  const { promise: onItsWay, resolve: sent } = Promise.withResolvers<void>();
  let wiring: PodWiring | undefined;
  const asking = ask(conf, 'ADD', { attachment }, { sent, answering: () => wiring?.takeHostLock() });
  // A request that cannot even be sent (no agent) ends the race with its refusal, and no pair is begun for it.
  const begun = Promise.race([onItsWay, asking]).then(async () => {
    wiring = await PodWiring.begin(pair, conf.mtu);
    return wiring;
  });
  const [asked, pod] = await Promise.allSettled([asking, begun]);
  if (asked.status === 'rejected') {
    if (pod.status === 'fulfilled') await pod.value.abandon().catch(() => undefined);
    throw toCniError(asked.reason, 'ADD');
  }
  const addressed: Wiring = { ...pair, ...addressing(asked.value.assignment) };
  try {
    if (pod.status === 'rejected') throw pod.reason;
    // Built while the pod's batch is still making the pair; returned only once the wiring is done.
    const result = addResult(version, addressed, conf.vethPrefix);
    await pod.value.address(addressed);
    return result;
  } catch (error) {
    // The kernel is back as it was; the address goes back too, or the agent would hold it for a pod that has none.
    await ask(conf, 'DEL', { attachment, reason: 'SetupNSFailed' }).catch(() => undefined);
    throw error instanceof CniError ? error : new CniError(ErrorCode.wiringFailed, String(error).slice(0, 1024));
  }
}

async function del(conf: NetConf, env: NodeJS.ProcessEnv): Promise<undefined> {
  requireVersion('DEL', conf.cniVersion);
  const inv = parseInvocation('DEL', env);
  const hostVeth = inv.podNamespace !== '' && inv.podName !== '' ? podHostVeth(conf, inv) : undefined;
  const prev = wiringFromPrevResult(conf.prevResult, inv.ifName);
  // The host side goes before the address is released: once released it may be another pod's at once (with
  // IP_COOLDOWN_PERIOD=0), and a teardown after that would delete that pod's rules, which name only the address.
  const wired = prev?.ip;
  if (wired !== undefined) await unwirePod(wired, hostVeth ?? prev?.hostVeth);
  let released: Assignment | null | undefined;
  try {
    ({ released } = await ask(conf, 'DEL', { attachment: attachmentOf(conf, inv), reason: 'PodDeleted' }));
  } catch (error) {
    // The agent down or confused must not keep the pod's network alive: the teardown above went by prevResult.
    if (!(error instanceof IpcError)) throw error;
  }
  // Without a prevResult, only the agent knows the address; an address other than prevResult's is torn down too.
  const address = released?.address;
  if (wired === undefined || (address !== undefined && address !== wired)) await unwirePod(address, hostVeth);
  return undefined;
}

async function check(conf: NetConf, env: NodeJS.ProcessEnv): Promise<undefined> {
  requireVersion('CHECK', conf.cniVersion);
  const inv = parseInvocation('CHECK', env);
  const hostVeth = podHostVeth(conf, inv);
  const { assignment } = await ask(conf, 'CHECK', { attachment: attachmentOf(conf, inv) }).catch((e: unknown) => {
    throw toCniError(e, 'CHECK');
  });
  const prev = wiringFromPrevResult(conf.prevResult, inv.ifName);
  if (prev !== undefined && prev.ip !== assignment.address) {
    throw new CniError(ErrorCode.checkFailed, `prevResult says ${prev.ip}, the agent assigned ${assignment.address}`);
  }
  const problems = await inspectPod({ hostVeth, ifName: inv.ifName, netns: inv.netns, ...addressing(assignment) });
  if (problems.length > 0) throw new CniError(ErrorCode.checkFailed, `pod wiring differs: ${problems.join('; ')}`);
  return undefined;
}

async function status(conf: NetConf): Promise<undefined> {
  requireVersion('STATUS', conf.cniVersion);
  const answer = await ask(conf, 'STATUS', {}).catch((e: unknown) => {
    throw new CniError(ErrorCode.pluginNotAvailable, toCniError(e, 'STATUS').message);
  });
  if (!answer.ready)
    throw new CniError(ErrorCode.pluginNotAvailable, `the agent cannot serve ADD yet: ${answer.message}`);
  return undefined;
}

async function gc(conf: NetConf): Promise<undefined> {
  requireVersion('GC', conf.cniVersion);
  const valid = (conf['cni.dev/valid-attachments'] ?? []).map((a) => ({
    containerId: a.containerID,
    ifName: a.ifname,
  }));
  await ask(conf, 'GC', { networkName: conf.name, valid }).catch((e: unknown) => {
    throw toCniError(e, 'GC');
  });
  return undefined;
}

export async function runCommand(
  command: Exclude<Command, 'VERSION'>,
  env: NodeJS.ProcessEnv,
  stdin: string,
): Promise<unknown> {
  const conf = parseNetConf(stdin);
  const began = performance.now();
  const level = logLevelOf(conf.pluginLogLevel);
  const context = logContext(command, env);
  try {
    const result = await dispatch(command, conf, env);
    const address = (result as { ips?: Array<{ address?: unknown }> } | undefined)?.ips?.[0]?.address;
    writePluginLog(conf.pluginLogFile, level, {
      level: 'info',
      msg: `${command} ok`,
      ...context,
      ...(typeof address === 'string' ? { address } : {}),
      ms: Math.round(performance.now() - began),
    });
    return result;
  } catch (error) {
    const cni = error instanceof CniError ? error : undefined;
    writePluginLog(conf.pluginLogFile, level, {
      level: 'error',
      msg: `${command} failed: ${(cni?.message ?? String(error)).slice(0, 1024)}`,
      ...context,
      ...(cni === undefined ? {} : { code: cni.code }),
      ms: Math.round(performance.now() - began),
    });
    throw error;
  }
}

/** Who the command was for, from the validated invocation only: a hostile CNI_* value is never written to the log. */
function logContext(command: Exclude<Command, 'VERSION'>, env: NodeJS.ProcessEnv): Record<string, string> {
  if (command === 'STATUS' || command === 'GC') return { command };
  try {
    const inv = parseInvocation(command, env);
    return {
      command,
      containerId: inv.containerId,
      ifName: inv.ifName,
      netns: inv.netns,
      ...(inv.podName === '' ? {} : { pod: `${inv.podNamespace}/${inv.podName}` }),
    };
  } catch {
    return { command };
  }
}

function dispatch(command: Exclude<Command, 'VERSION'>, conf: NetConf, env: NodeJS.ProcessEnv): Promise<unknown> {
  switch (command) {
    case 'ADD':
      return add(conf, env);
    case 'DEL':
      return del(conf, env);
    case 'CHECK':
      return check(conf, env);
    case 'STATUS':
      return status(conf);
    case 'GC':
      return gc(conf);
  }
}
