/**
 * The ADD result, laid out as the reference plugin prints it (host veth, pod interface, a `dummy<hash>` bookkeeping
 * interface), so that a DEL from either plugin can tear down a pod the other one wired from the runtime's cached
 * prevResult: the pod interface's `mac` carries the route table and the dummy's `sandbox` the ENI's device number.
 */
import * as z from 'zod';
import { Attachment } from '../ipc/protocol.ts';
import { isIpv4 } from '../lib/address.ts';
import type { CniVersion } from './spec.ts';

export const MAIN_TABLE = 254;

export interface Wiring {
  readonly hostVeth: string;
  readonly hostMac: string;
  readonly ifName: string;
  readonly netns: string;
  readonly ip: string;
  /** The ENI's route table; 254 for the primary ENI. */
  readonly table: number;
  readonly deviceNumber: number;
}

export function dummyName(hostVeth: string, vethPrefix: string): string {
  return `dummy${hostVeth.slice(vethPrefix.length)}`;
}

export function addResult(version: CniVersion, w: Wiring, vethPrefix: string): Record<string, unknown> {
  const legacy = version.startsWith('0.');
  return {
    cniVersion: version,
    interfaces: [
      { name: w.hostVeth, mac: w.hostMac },
      { name: w.ifName, sandbox: w.netns, mac: String(w.table) },
      { name: dummyName(w.hostVeth, vethPrefix), mac: '0', sandbox: String(w.deviceNumber) },
    ],
    ips: [{ ...(legacy ? { version: '4' } : {}), interface: 1, address: `${w.ip}/32` }],
    dns: {},
  };
}

// `dummy<hash>` is 16 characters, one more than a Linux name: it is bookkeeping, never a link.
const PrevInterface = z.looseObject({
  name: z.string().max(64),
  mac: z.string().max(32).optional(),
  sandbox: z.string().max(256).optional(),
});
const PrevResult = z.looseObject({
  interfaces: z.array(PrevInterface).max(64).default([]),
  ips: z
    .array(z.looseObject({ address: z.string().max(64), interface: z.int().min(0).max(63).optional() }))
    .max(64)
    .default([]),
});

/** What a DEL can learn from a prevResult (ours or the reference's); undefined when it names no usable pod. */
export interface PrevWiring {
  readonly ip: string;
  readonly hostVeth: string | undefined;
  readonly table: number;
}

export function wiringFromPrevResult(prev: unknown, ifName: string): PrevWiring | undefined {
  const parsed = PrevResult.safeParse(prev);
  if (!parsed.success) return undefined;
  const { interfaces, ips } = parsed.data;
  const index = interfaces.findIndex((i) => i.name === ifName && i.sandbox !== undefined);
  const entry = ips.find((ip) => ip.interface === index) ?? (ips.length === 1 ? ips[0] : undefined);
  const ip = entry?.address.replace(/\/32$/, '');
  if (ip === undefined || !isIpv4(ip)) return undefined;
  const macTable = Number(interfaces[index]?.mac);
  const dummy = interfaces.find((i) => i.name.startsWith('dummy') && i.mac === '0');
  const device = Number(dummy?.sandbox);
  let table = MAIN_TABLE;
  if (Number.isInteger(macTable) && macTable > 1) table = macTable;
  else if (Number.isInteger(device) && device > 0 && device < 1024) table = device + 1;
  const host = interfaces.find((i) => i.sandbox === undefined || i.sandbox === '')?.name;
  return { ip, hostVeth: Attachment.shape.ifName.safeParse(host).success ? host : undefined, table };
}
