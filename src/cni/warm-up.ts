/**
 * One pass of every parser a pod's ADD, DEL and CHECK goes through, on representative input, run while the single
 * executable's start-up snapshot is built (main.ts). zod compiles a schema's fast path on its first parse and V8
 * compiles a function on its first call; done here, both are in the snapshot, and each pod's run starts with them
 * instead of paying about 10 ms for them (bench/cni.bench.ts). The samples are real values of each boundary's type: a
 * sample that stops parsing fails the build, rather than leaving a plugin that is slow without saying so.
 */
import { decode, encode, LineSplitter } from '../ipc/codec.ts';
import { type Assignment, PROTOCOL_VERSION, Response } from '../ipc/protocol.ts';
import { parseInvocation, parseNetConf } from './netconf.ts';
import { addResult, MAIN_TABLE, wiringFromPrevResult } from './result.ts';
import { CniError, ErrorCode, errorObject, requireVersion, versionInfo } from './spec.ts';

const ENV = {
  CNI_CONTAINERID: '0123456789abcdef0123456789abcdef',
  CNI_NETNS: '/var/run/netns/cni-00000000-0000-0000-0000-000000000000',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS:
    'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=warm-up;K8S_POD_INFRA_CONTAINER_ID=0123456789abcdef',
};

const ASSIGNMENT: Assignment = {
  address: '10.0.1.5',
  deviceNumber: 1,
  routeTable: 2,
  eniId: 'eni-0123456789abcdef0',
  vpcCidrs: ['10.0.0.0/16'],
};

function netconf(extra: Record<string, unknown>): string {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'aws-cni',
    type: 'aws-cni',
    vethPrefix: 'eni',
    mtu: '9001',
    podSGEnforcingMode: 'strict',
    pluginLogFile: '/var/log/aws-routed-eni/plugin.log',
    pluginLogLevel: 'DEBUG',
    capabilities: { io_kubernetes_cri_pod_annotations: true },
    ...extra,
  });
}

function reply(id: number, body: Record<string, unknown>): string {
  return JSON.stringify({ v: PROTOCOL_VERSION, id, ...body });
}

export function warmUp(): void {
  const conf = parseNetConf(netconf({}));
  const version = requireVersion('ADD', conf.cniVersion);
  const invocation = parseInvocation('ADD', ENV);
  encode({ op: 'ADD', v: PROTOCOL_VERSION, id: 1, attachment: { ...invocation, networkName: conf.name } });
  const answers = [
    reply(1, { ok: true, op: 'ADD', assignment: ASSIGNMENT }),
    reply(2, { ok: true, op: 'DEL', released: ASSIGNMENT }),
    reply(3, { ok: true, op: 'CHECK', assignment: ASSIGNMENT }),
    reply(4, { ok: true, op: 'STATUS', ready: true, message: 'ready' }),
    reply(5, { ok: true, op: 'GC', released: 0 }),
    reply(6, {
      ok: false,
      error: { kind: 'NO_ADDRESS', message: 'none', shortage: { code: 'POOL_GROWING', requested: 1 } },
    }),
  ];
  const lines = new LineSplitter().push(Buffer.from(`${answers.join('\n')}\n`));
  if (lines === 'too-large') throw new Error('warm-up: agent replies refused as too large');
  for (const line of lines) {
    const decoded = decode(line, Response);
    if (!decoded.ok) throw new Error(`warm-up: agent reply ${line} refused: ${decoded.error.message}`);
  }
  const wiring = {
    hostVeth: 'eni0123456789a',
    hostMac: '02:00:00:00:00:01',
    ifName: invocation.ifName,
    netns: invocation.netns,
    ip: ASSIGNMENT.address,
    table: ASSIGNMENT.routeTable ?? MAIN_TABLE,
    deviceNumber: ASSIGNMENT.deviceNumber,
  };
  const prevResult = JSON.parse(JSON.stringify(addResult(version, wiring, conf.vethPrefix))) as unknown;
  const del = parseNetConf(netconf({ prevResult }));
  parseInvocation('DEL', ENV);
  if (wiringFromPrevResult(del.prevResult, invocation.ifName)?.ip !== wiring.ip) {
    throw new Error('warm-up: the ADD result read back as prevResult does not name its address');
  }
  parseNetConf(
    netconf({
      cniVersion: '1.1.0',
      'cni.dev/valid-attachments': [{ containerID: ENV.CNI_CONTAINERID, ifname: 'eth0' }],
    }),
  );
  JSON.stringify(versionInfo());
  JSON.stringify(errorObject(version, new CniError(ErrorCode.tryAgainLater, 'warm-up')));
}
