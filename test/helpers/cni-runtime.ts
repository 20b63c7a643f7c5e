import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import * as z from 'zod';

/**
 * A real container runtime for tests and benches: test/fixtures/cni-runtime/main.go, a small `main` over libcni (the
 * library containerd and CRI-O use) from Debian's golang-github-appc-cni-dev, built offline on first use and cached
 * by the source's hash. It runs inside a namespace that plays the node's host network, as the kubelet's runtime runs
 * on the host, with an empty environment (libcni passes the plugin only the CNI_* variables then).
 */

const SOURCE = new URL('../fixtures/cni-runtime/main.go', import.meta.url).pathname;
const CACHE = join(tmpdir(), 'vpc-cni-test-cni-runtime');
/** Where Debian's containernetworking-plugins puts ptp, host-local, portmap, bandwidth, tuning... */
export const DEBIAN_CNI_PLUGINS = '/usr/lib/cni';
const IP = '/usr/sbin/ip';

export const canBuildCniRuntime = async (): Promise<boolean> =>
  (await stat('/usr/share/gocode/src/github.com/containernetworking/cni/libcni').catch(() => undefined)) !==
    undefined && (await stat('/usr/bin/go').catch(() => undefined)) !== undefined;

let built: Promise<string> | undefined;

/** The runtime's executable, built now unless this source was built before (in any process). */
export function cniRuntimeBinary(): Promise<string> {
  built ??= (async () => {
    const source = await readFile(SOURCE);
    const target = join(CACHE, `cni-runtime-${createHash('sha256').update(source).digest('hex').slice(0, 16)}`);
    if ((await stat(target).catch(() => undefined))?.isFile()) return target;
    await mkdir(CACHE, { recursive: true });
    const temp = `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      await execa('/usr/bin/go', ['build', '-o', temp, SOURCE], {
        // GOPATH mode against Debian's Go sources: no module download, no network.
        env: { GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOCACHE: join(CACHE, 'gocache'), HOME: CACHE },
        extendEnv: false,
        stdin: 'ignore',
      });
      // Two processes building at once each rename a complete executable into place.
      await rename(temp, target);
    } finally {
      await rm(temp, { force: true });
    }
    return target;
  })();
  return built;
}

export const CniErrorObject = z.object({ code: z.number().int(), msg: z.string(), details: z.string().optional() });
export type CniErrorObject = z.infer<typeof CniErrorObject>;

const Reply = z.union([
  z.object({ ok: z.literal(true), result: z.unknown().optional() }),
  z.object({ ok: z.literal(false), error: CniErrorObject }),
]);
export type CniReply = z.infer<typeof Reply>;

/** A CNI 1.x ADD result, as far as the tests read it. */
export const AddResult = z.object({
  cniVersion: z.string(),
  interfaces: z.array(z.object({ name: z.string(), mac: z.string().optional(), sandbox: z.string().optional() })),
  ips: z.array(z.object({ address: z.string(), gateway: z.string().optional(), interface: z.number().optional() })),
  routes: z.array(z.object({ dst: z.string(), gw: z.string().optional() })).optional(),
});
export type AddResult = z.infer<typeof AddResult>;

/** One pod's attachment, as the kubelet's runtime names it. */
export interface PodAttachment {
  readonly containerId: string;
  /** The pod's network namespace path, e.g. /var/run/netns/NAME. */
  readonly netns: string;
  readonly ifName?: string;
  readonly podName?: string;
  readonly podNamespace?: string;
}

export interface CniRuntimeOptions {
  /** The directory holding the conflist, and the conflist's network name (libcni finds the file by it). */
  readonly confDir: string;
  readonly network: string;
  /** Our plugin directories; Debian's plugins are appended (portmap and the baseline come from there). */
  readonly binDirs: readonly string[];
  /** libcni's result cache: the test's own directory, never /var/lib/cni. */
  readonly cacheDir: string;
  /** The namespace the runtime runs in: the node's host network (default: this process's). */
  readonly nodeNetns?: string;
}

export interface CniRuntime {
  add(pod: PodAttachment): Promise<CniReply>;
  /** CHECK through every plugin of the list, even when the conflist sets disableCheck. */
  check(pod: PodAttachment): Promise<CniReply>;
  del(pod: PodAttachment): Promise<CniReply>;
  /** CNI 1.1 GC: every attachment not in `valid` may be released (lists of cniVersion ≥ 1.1.0 only). */
  gc(valid: readonly { containerId: string; ifName?: string }[]): Promise<CniReply>;
  /** CNI 1.1 STATUS: can the network take ADDs (lists of cniVersion ≥ 1.1.0 only). */
  status(): Promise<CniReply>;
  version(): Promise<CniReply>;
}

export async function cniRuntime(opts: CniRuntimeOptions): Promise<CniRuntime> {
  const exe = await cniRuntimeBinary();
  const base = [
    '-conf-dir',
    opts.confDir,
    '-network',
    opts.network,
    '-path',
    [...opts.binDirs, DEBIAN_CNI_PLUGINS].join(':'),
    '-cache-dir',
    opts.cacheDir,
  ];
  const run = async (args: readonly string[]): Promise<CniReply> => {
    const [file, ...inNetns] = opts.nodeNetns === undefined ? [exe] : [IP, 'netns', 'exec', opts.nodeNetns, exe];
    const result = await execa(file!, [...inNetns, ...base, ...args], {
      env: {},
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    const line = result.stdout.trim().split('\n').at(-1) ?? '';
    try {
      return Reply.parse(JSON.parse(line));
    } catch {
      throw new Error(`cni-runtime ${args.join(' ')}: exit ${result.exitCode}, no reply: ${result.stderr || line}`);
    }
  };
  const pod = (p: PodAttachment, command: string): string[] => [
    '-container',
    p.containerId,
    '-netns',
    p.netns,
    '-ifname',
    p.ifName ?? 'eth0',
    '-args',
    [
      'IgnoreUnknown=1',
      `K8S_POD_NAMESPACE=${p.podNamespace ?? 'default'}`,
      `K8S_POD_NAME=${p.podName ?? p.containerId.slice(0, 12)}`,
      `K8S_POD_INFRA_CONTAINER_ID=${p.containerId}`,
    ].join(';'),
    command,
  ];
  return {
    add: (p) => run(pod(p, 'ADD')),
    // The installed conflist disables CHECK as the reference's does, and libcni would then never call the plugin:
    // a test's CHECK must reach it, or it proves nothing.
    check: (p) => run(['-force-check', ...pod(p, 'CHECK')]),
    del: (p) => run(pod(p, 'DEL')),
    gc: (valid) => run(['-valid', valid.map((v) => `${v.containerId}/${v.ifName ?? 'eth0'}`).join(','), 'GC']),
    status: () => run(['STATUS']),
    version: () => run(['VERSION']),
  };
}
