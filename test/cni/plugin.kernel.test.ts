import { mkdir, mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import type { Assignment, Request } from '../../src/ipc/protocol.ts';
import { serve } from '../../src/ipc/server.ts';
import { applyLockFile, LOCK_DIR } from '../../src/lib/apply-lock.ts';
import { hostVethName } from '../../src/lib/pod-wiring.ts';
import { kernelTest } from '../helpers/needs.ts';
import { createNetns, type TestNetns } from '../helpers/netns.ts';

// The plugin as the runtime runs it: its entry under this Node, inside a namespace playing the node's host network,
// with an empty environment. The agent is a protocol peer (src/ipc/server.ts) answering one assignment, so the
// plugin's own wiring, undo and idempotence are checked here; the agent's tests drive the pair end to end.
const ENTRY = new URL('../../src/cni/main.ts', import.meta.url).pathname;

const PRIMARY: Assignment = {
  address: '10.0.1.23',
  deviceNumber: 0,
  routeTable: null,
  eniId: 'eni-0a',
  vpcCidrs: ['10.0.0.0/16'],
};
const SECONDARY: Assignment = {
  address: '10.0.2.40',
  deviceNumber: 1,
  routeTable: 2,
  eniId: 'eni-0b',
  vpcCidrs: ['10.0.0.0/16'],
};

interface Peer {
  readonly socket: string;
  readonly requests: Request[];
  stop(): Promise<void>;
}

/** `seen` runs as each request arrives, before it is answered: what the node looks like to the agent then. */
async function agentPeer(
  t: ExecutionContext,
  assignment: Assignment,
  ready = true,
  seen: (req: Request) => Promise<void> = async () => undefined,
): Promise<Peer> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-cni-'));
  const socket = join(dir, 'agent.sock');
  const requests: Request[] = [];
  const server = await serve(socket, async (req) => {
    requests.push(req);
    await seen(req);
    switch (req.op) {
      case 'ADD':
      case 'CHECK':
        return { ok: true, op: req.op, assignment };
      case 'DEL':
        return { ok: true, op: 'DEL', released: assignment };
      case 'GC':
        return { ok: true, op: 'GC', released: 0 };
      case 'STATUS':
        return { ok: true, op: 'STATUS', ready, message: ready ? 'ready' : 'warm pool filling' };
    }
  });
  let stopped = false;
  const stop = async () => {
    if (!stopped) await server.close();
    stopped = true;
  };
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  return { socket, requests, stop };
}

interface Call {
  readonly command: string;
  readonly pod: TestNetns | { path: string };
  readonly socket: string;
  readonly name?: string;
  readonly ifName?: string;
  readonly containerId?: string;
  readonly prevResult?: unknown;
  readonly cniVersion?: string;
  readonly extra?: Record<string, unknown>;
}

async function plugin(host: TestNetns, c: Call) {
  const conf = {
    cniVersion: c.cniVersion ?? '1.0.0',
    name: 'aws-cni',
    type: 'aws-cni',
    vethPrefix: 'eni',
    mtu: '1400',
    agentSocket: c.socket,
    agentTimeoutMs: 2000,
    ...(c.prevResult === undefined ? {} : { prevResult: c.prevResult }),
    ...c.extra,
  };
  const result = await execa(
    '/usr/sbin/ip',
    [
      'netns',
      'exec',
      host.name,
      '/usr/bin/env',
      '-i',
      `CNI_COMMAND=${c.command}`,
      `CNI_CONTAINERID=${c.containerId ?? 'c0ffee01'}`,
      `CNI_NETNS=${c.pod.path}`,
      `CNI_IFNAME=${c.ifName ?? 'eth0'}`,
      `CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${c.name ?? 'web-1'}`,
      'CNI_PATH=/opt/cni/bin',
      process.execPath,
      ENTRY,
    ],
    { input: JSON.stringify(conf), reject: false, extendEnv: false, env: {} },
  );
  const out = result.stdout === '' ? undefined : (JSON.parse(result.stdout) as Record<string, unknown>);
  return { exitCode: result.exitCode, out, stderr: result.stderr };
}

async function hostState(host: TestNetns) {
  const [links, rules, routes] = await Promise.all([
    host.ip(['-o', 'link', 'show']),
    host.ip(['rule', 'show']),
    host.ip(['route', 'show', 'table', 'all']).then((r) =>
      r
        .split('\n')
        .filter((l) => !l.includes(' dev lo '))
        .join('\n'),
    ),
  ]);
  return { links: links.split('\n').filter((l) => l.includes('eni')), rules, routes };
}

kernelTest(
  'ADD wires the pod as the reference does, the pod reaches the host end, DEL twice leaves nothing',
  async (t) => {
    const host = await createNetns(t, 'cnih');
    const pod = await createNetns(t, 'cnip');
    const peer = await agentPeer(t, PRIMARY);
    const before = await hostState(host);
    const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket });
    t.is(add.exitCode, 0, JSON.stringify(add.out));
    const veth = hostVethName('eni', 'default', 'web-1');
    t.like(add.out, { cniVersion: '1.0.0', ips: [{ interface: 1, address: '10.0.1.23/32' }] });
    const ifaces = add.out?.interfaces as Array<{ name: string; mac: string; sandbox?: string }>;
    t.is(ifaces[0]?.name, veth);
    t.deepEqual(ifaces.slice(1), [
      { name: 'eth0', sandbox: pod.path, mac: '254' },
      { name: `dummy${veth.slice(3)}`, mac: '0', sandbox: '0' },
    ]);
    // Pod side.
    t.regex(await pod.ip(['-o', 'addr', 'show', 'dev', 'eth0']), /inet 10\.0\.1\.23\/32/);
    t.regex(await pod.ip(['route', 'show']), /default via 169\.254\.1\.1 dev eth0/);
    t.regex(await pod.ip(['neigh', 'show', '169.254.1.1']), new RegExp(`lladdr ${ifaces[0]?.mac} PERMANENT`, 'i'));
    t.regex(await pod.ip(['link', 'show', 'eth0']), /mtu 1400/);
    // Host side: the /32 route and the to-pod rule; no from-pod rule for a primary-ENI address.
    t.regex(await host.ip(['route', 'show']), new RegExp(`10\\.0\\.1\\.23 dev ${veth} scope link`));
    const rules = await host.ip(['rule', 'show']);
    t.regex(rules, /512:\s+from all to 10\.0\.1\.23 lookup main/);
    t.notRegex(rules, /1536:/);
    t.regex(await host.ip(['link', 'show', veth]), /mtu 1400.*state UP/s);
    // The host end has no address, as in the reference: the host reaches the pod through the /32 route alone.
    await host.ip(['addr', 'add', '10.0.9.9/32', 'dev', 'lo']);
    await host.ip(['link', 'set', 'lo', 'up']);
    await host.exec('/usr/bin/ping', ['-c1', '-W2', '10.0.1.23']);
    await host.ip(['addr', 'del', '10.0.9.9/32', 'dev', 'lo']);
    await host.ip(['link', 'set', 'lo', 'down']);

    const check = await plugin(host, { command: 'CHECK', pod, socket: peer.socket, prevResult: add.out });
    t.is(check.exitCode, 0, JSON.stringify(check.out));

    for (const round of [1, 2]) {
      const del = await plugin(host, { command: 'DEL', pod, socket: peer.socket, prevResult: add.out });
      t.is(del.exitCode, 0, `DEL ${round}: ${JSON.stringify(del.out)}`);
    }
    t.deepEqual(await hostState(host), before);
    t.deepEqual(
      peer.requests.map((r) => r.op),
      ['ADD', 'CHECK', 'DEL', 'DEL'],
    );
  },
);

kernelTest('DEL tears the host side down before the agent releases the address', async (t) => {
  const host = await createNetns(t, 'cnih');
  const pod = await createNetns(t, 'cnip');
  const before = await hostState(host);
  // Once released, the address may be another pod's at once (IP_COOLDOWN_PERIOD=0): by then nothing of this pod's may
  // be left to tear down, as its rules would be the new pod's too.
  let atRelease: Awaited<ReturnType<typeof hostState>> | undefined;
  const peer = await agentPeer(t, SECONDARY, true, async (req) => {
    if (req.op === 'DEL') atRelease = await hostState(host);
  });
  const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket });
  t.is(add.exitCode, 0, JSON.stringify(add.out));
  const del = await plugin(host, { command: 'DEL', pod, socket: peer.socket, prevResult: add.out });
  t.is(del.exitCode, 0, JSON.stringify(del.out));
  t.deepEqual(atRelease, before, 'the host was as before the ADD when the agent was asked to release');
});

kernelTest(
  'a secondary ENI address gets the from-pod rule to its table; DEL with the agent gone tears down from prevResult',
  async (t) => {
    const host = await createNetns(t, 'cnih');
    const pod = await createNetns(t, 'cnip');
    const peer = await agentPeer(t, SECONDARY);
    const before = await hostState(host);
    const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket, cniVersion: '0.4.0' });
    t.is(add.exitCode, 0, JSON.stringify(add.out));
    t.like(add.out, { cniVersion: '0.4.0', ips: [{ version: '4', address: '10.0.2.40/32' }] });
    t.regex(await host.ip(['rule', 'show']), /1536:\s+from 10\.0\.2\.40 lookup 2/);
    await peer.stop();
    const del = await plugin(host, {
      command: 'DEL',
      pod,
      socket: peer.socket,
      prevResult: add.out,
      cniVersion: '0.4.0',
    });
    t.is(del.exitCode, 0, JSON.stringify(del.out));
    t.deepEqual(await hostState(host), before);
  },
);

kernelTest(
  'a pod named by /proc/<pid>/ns/net, as some runtimes pass it, is wired, checked and torn down',
  async (t) => {
    const host = await createNetns(t, 'cnih');
    const pod = await createNetns(t, 'cnip');
    const peer = await agentPeer(t, PRIMARY);
    // A process living in the pod's namespace gives it the path a runtime without named namespaces would pass.
    const sleeper = execa('/usr/sbin/ip', ['netns', 'exec', pod.name, '/usr/bin/sleep', '60'], { reject: false });
    t.teardown(() => {
      sleeper.kill();
    });
    const pid = await waitForChild(sleeper.pid!);
    const path = { path: `/proc/${pid}/ns/net` };
    const before = await hostState(host);
    const add = await plugin(host, { command: 'ADD', pod: path, socket: peer.socket });
    t.is(add.exitCode, 0, JSON.stringify(add.out));
    t.regex(await pod.ip(['-o', 'addr', 'show', 'dev', 'eth0']), /inet 10\.0\.1\.23\/32/);
    const check = await plugin(host, { command: 'CHECK', pod: path, socket: peer.socket, prevResult: add.out });
    t.is(check.exitCode, 0, JSON.stringify(check.out));
    const del = await plugin(host, { command: 'DEL', pod: path, socket: peer.socket, prevResult: add.out });
    t.is(del.exitCode, 0, JSON.stringify(del.out));
    t.deepEqual(await hostState(host), before);
  },
);

/** `ip netns exec` execs its command in place, so the pid is the sleeper once its netns differs from ours. */
async function waitForChild(pid: number): Promise<number> {
  const own = await readlink('/proc/self/ns/net');
  for (let i = 0; i < 200; i++) {
    const ns = await readlink(`/proc/${pid}/ns/net`).catch(() => own);
    if (ns !== own) return pid;
    await sleep(10);
  }
  throw new Error(`process ${pid} never entered the pod's namespace`);
}

kernelTest('ADD that fails half-way undoes its veth and hands the address back', async (t) => {
  const host = await createNetns(t, 'cnih');
  const pod = await createNetns(t, 'cnip');
  const peer = await agentPeer(t, PRIMARY);
  // The pod already has an eth0: the veth's pod end cannot be created there, after the agent gave an address.
  await pod.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
  const before = await hostState(host);
  const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket });
  t.is(add.exitCode, 1);
  t.like(add.out, { code: 102 });
  t.deepEqual(await hostState(host), before);
  t.deepEqual(
    peer.requests.map((r) => (r.op === 'DEL' ? `DEL:${r.reason}` : r.op)),
    ['ADD', 'DEL:SetupNSFailed'],
  );
});

kernelTest(
  'ADD whose pod side fails after the veth pair exists deletes the pair and hands the address back',
  async (t) => {
    const host = await createNetns(t, 'cnih');
    const pod = await createNetns(t, 'cnip');
    const peer = await agentPeer(t, SECONDARY);
    // The pod already has a default route: the pair is made and moved, then `route add default` finds it taken.
    await pod.ip(['link', 'add', 'other0', 'type', 'veth', 'peer', 'name', 'other1']);
    await pod.ip(['link', 'set', 'other0', 'up']);
    await pod.ip(['route', 'add', 'default', 'dev', 'other0']);
    const before = await hostState(host);
    const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket });
    t.is(add.exitCode, 1);
    t.like(add.out, { code: 102 });
    t.regex(String(add.out?.msg), /configuring the pod side: .*File exists/s);
    t.deepEqual(await hostState(host), before);
    t.notRegex(await pod.ip(['-o', 'link', 'show']), /eth0/);
    t.deepEqual(
      peer.requests.map((r) => (r.op === 'DEL' ? `DEL:${r.reason}` : r.op)),
      ['ADD', 'DEL:SetupNSFailed'],
    );
  },
);

kernelTest("the host side of ADD waits for the host's apply lock, as an agent's apply holds it", async (t) => {
  const host = await createNetns(t, 'cnih');
  const pod = await createNetns(t, 'cnip');
  const peer = await agentPeer(t, SECONDARY);
  await mkdir(LOCK_DIR, { recursive: true });
  const lockFile = applyLockFile(LOCK_DIR, (await stat(host.path)).ino);
  t.teardown(() => rm(lockFile, { force: true }));
  // An apply in progress: flock(2) on the namespace's lock file, held until its stdin closes.
  const holder = execa('/usr/bin/flock', ['--exclusive', lockFile, '/usr/bin/sh', '-c', 'echo locked; exec cat'], {
    stdin: 'pipe',
  });
  await new Promise<void>((resolve) => holder.stdout?.once('data', () => resolve()));
  let finished = false;
  const adding = plugin(host, { command: 'ADD', pod, socket: peer.socket }).finally(() => {
    finished = true;
  });
  const veth = hostVethName('eni', 'default', 'web-1');
  // The pod side needs no lock: the host end arrives, and then nothing more happens while the lock is held.
  for (let i = 0; i < 200 && !(await host.ip(['-o', 'link', 'show'])).includes(veth); i++) await sleep(25);
  t.regex(await host.ip(['-o', 'link', 'show', veth]), /state DOWN/);
  await sleep(500);
  t.false(finished, 'ADD finished while the apply lock was held');
  t.notRegex(await host.ip(['rule', 'show']), /10\.0\.2\.40/);
  t.notRegex(await host.ip(['route', 'show']), /10\.0\.2\.40/);
  holder.stdin?.end();
  await holder;
  const add = await adding;
  t.is(add.exitCode, 0, JSON.stringify(add.out));
  t.regex(await host.ip(['rule', 'show']), /512:\s+from all to 10\.0\.2\.40 lookup main/);
  t.regex(await host.ip(['link', 'show', veth]), /state UP/);
});

kernelTest('hostile CNI_NETNS, CNI_IFNAME and CNI_CONTAINERID are spec errors and create nothing', async (t) => {
  const host = await createNetns(t, 'cnih');
  const pod = await createNetns(t, 'cnip');
  const peer = await agentPeer(t, PRIMARY);
  const before = await hostState(host);
  const cases: Array<[Partial<Call>, RegExp]> = [
    [{ pod: { path: '/var/run/netns/../../etc/passwd' } }, /CNI_NETNS/],
    [{ pod: { path: '/tmp/ns' } }, /CNI_NETNS/],
    [{ ifName: 'eth0;reboot' }, /CNI_IFNAME/],
    [{ ifName: 'a very long name!' }, /CNI_IFNAME/],
    [{ containerId: '../x' }, /CNI_CONTAINERID/],
    [{ name: 'web 1' }, /K8S_POD_NAME/],
  ];
  for (const [override, message] of cases) {
    const r = await plugin(host, { command: 'ADD', pod, socket: peer.socket, ...override });
    t.is(r.exitCode, 1, JSON.stringify(override));
    t.like(r.out, { code: 4 });
    t.regex(String(r.out?.msg), message);
  }
  const badConf = await plugin(host, { command: 'ADD', pod, socket: peer.socket, extra: { vethPrefix: 'e"x' } });
  t.like(badConf.out, { code: 7 });
  t.deepEqual(peer.requests, []);
  t.deepEqual(await hostState(host), before);
});

kernelTest(
  'STATUS fails with code 50 while the agent is not ready or unreachable; GC sends the valid list',
  async (t) => {
    const host = await createNetns(t, 'cnih');
    const pod = await createNetns(t, 'cnip');
    const filling = await agentPeer(t, PRIMARY, false);
    const notReady = await plugin(host, { command: 'STATUS', pod, socket: filling.socket, cniVersion: '1.1.0' });
    t.like(notReady.out, { code: 50 });
    t.regex(String(notReady.out?.msg), /warm pool filling/);
    await filling.stop();
    const gone = await plugin(host, { command: 'STATUS', pod, socket: filling.socket, cniVersion: '1.1.0' });
    t.like(gone.out, { code: 50 });
    const ready = await agentPeer(t, PRIMARY, true);
    t.is((await plugin(host, { command: 'STATUS', pod, socket: ready.socket, cniVersion: '1.1.0' })).exitCode, 0);
    const gc = await plugin(host, {
      command: 'GC',
      pod,
      socket: ready.socket,
      cniVersion: '1.1.0',
      extra: { 'cni.dev/valid-attachments': [{ containerID: 'c0ffee01', ifname: 'eth0' }] },
    });
    t.is(gc.exitCode, 0, JSON.stringify(gc.out));
    t.like(ready.requests.at(-1), {
      op: 'GC',
      networkName: 'aws-cni',
      valid: [{ containerId: 'c0ffee01', ifName: 'eth0' }],
    });
    const old = await plugin(host, { command: 'STATUS', pod, socket: ready.socket, cniVersion: '1.0.0' });
    t.like(old.out, { code: 1 });
  },
);

kernelTest(
  'the plugin logs each command as one JSON line at pluginLogFile, filtered by pluginLogLevel, never a hostile value',
  async (t) => {
    const host = await createNetns(t, 'cnilh');
    const pod = await createNetns(t, 'cnilp');
    const peer = await agentPeer(t, PRIMARY);
    const dir = await mkdtemp(join(tmpdir(), 'vc-cni-log-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'aws-routed-eni', 'plugin.log');
    const extra = { pluginLogFile: file, pluginLogLevel: 'INFO' };
    const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket, extra });
    t.is(add.exitCode, 0, JSON.stringify(add.out));
    const hostile = await plugin(host, { command: 'ADD', pod, socket: peer.socket, extra, containerId: 'x;rm -rf' });
    t.is(hostile.exitCode, 1);
    t.is((await plugin(host, { command: 'DEL', pod, socket: peer.socket, extra, prevResult: add.out })).exitCode, 0);
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    t.like(entries[0], {
      level: 'info',
      msg: 'ADD ok',
      command: 'ADD',
      containerId: 'c0ffee01',
      ifName: 'eth0',
      pod: 'default/web-1',
      address: '10.0.1.23/32',
    });
    t.like(entries[1], { level: 'error', command: 'ADD', code: 4 });
    t.false('containerId' in entries[1]!, 'the refused container id is not logged');
    t.like(entries[2], { level: 'info', msg: 'DEL ok' });
    t.is(entries.length, 3);
    t.is((await stat(file)).mode & 0o777, 0o600);

    // At error level only the failure is written; a log destination of stdout is refused (stdout is the result).
    const quiet = join(dir, 'quiet.log');
    const status = await plugin(host, {
      command: 'STATUS',
      pod,
      socket: peer.socket,
      cniVersion: '1.1.0',
      extra: { pluginLogFile: quiet, pluginLogLevel: 'error' },
    });
    t.is(status.exitCode, 0);
    await t.throwsAsync(stat(quiet), undefined, 'a STATUS that succeeds writes nothing at error level');
    const toStdout = await plugin(host, {
      command: 'ADD',
      pod,
      socket: peer.socket,
      extra: { pluginLogFile: 'stdout' },
    });
    t.is(toStdout.exitCode, 1);
    t.regex(String(toStdout.out?.msg), /pluginLogFile must be stderr/);
  },
);

kernelTest("DEL takes the pod's connections out of the host's conntrack table", async (t) => {
  const host = await createNetns(t, 'cnich');
  const pod = await createNetns(t, 'cnicp');
  const peer = await agentPeer(t, PRIMARY);
  // Conntrack tracks a namespace's flows once a rule there needs it, as the node's SNAT rules do.
  await host.exec('/usr/sbin/iptables', ['-A', 'OUTPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'ACCEPT']);
  const add = await plugin(host, { command: 'ADD', pod, socket: peer.socket });
  t.is(add.exitCode, 0, JSON.stringify(add.out));
  await host.ip(['addr', 'add', '10.0.9.9/32', 'dev', 'lo']);
  await host.ip(['link', 'set', 'lo', 'up']);
  await host.exec('/usr/bin/ping', ['-c1', '-W2', '10.0.1.23']);
  const tracked = (args: string[]) =>
    execa('/usr/sbin/ip', ['netns', 'exec', host.name, '/usr/sbin/conntrack', '-L', ...args], { reject: false }).then(
      (r) => r.stdout,
    );
  t.regex(await tracked(['-d', '10.0.1.23']), /dst=10\.0\.1\.23/, 'the ping is tracked');
  t.is((await plugin(host, { command: 'DEL', pod, socket: peer.socket, prevResult: add.out })).exitCode, 0);
  t.notRegex(await tracked(['-d', '10.0.1.23']), /10\.0\.1\.23/);
  t.notRegex(await tracked(['-s', '10.0.1.23']), /10\.0\.1\.23/);
});
