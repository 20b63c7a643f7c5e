import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { NETWORK_NAME } from '../../src/agent/conflist.ts';
import { call } from '../../src/ipc/client.ts';
import { hostVethName } from '../../src/lib/pod-wiring.ts';
import { CniErrorObject, canBuildCniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';
import { testNeeding } from '../helpers/needs.ts';
import { canCreateNetns, createNetns, type TestNetns } from '../helpers/netns.ts';
import { TEST_SEA_CACHE } from '../helpers/plugin.ts';
import { addressOf, bed, nodeIp, pings, simulatedNode } from './support.ts';

// The whole pod path in the kernel, set up by ./support.ts (the simulators' node in namespaces, the agent in the node
// namespace, the installed single-executable plugin driven through libcni).
const BIN = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;

const kernel = testNeeding(
  canCreateNetns && (await canBuildCniRuntime()),
  'needs root for namespaces and golang-go + golang-github-appc-cni-dev for the libcni runtime',
);

/** The source address a TCP connection from `from` shows at `peer` (a one-shot listener in the peer's namespace). */
async function sourceSeenBy(peerNs: string, peer: string, from: TestNetns): Promise<string> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const listen = `import socket\ns=socket.create_server(('${peer}', ${port}))\nprint('up', flush=True)\nc,a=s.accept()\nprint(a[0], flush=True)`;
  const listener = execa('/usr/sbin/ip', ['netns', 'exec', peerNs, '/usr/bin/python3', '-c', listen], {
    env: {},
    extendEnv: false,
    timeout: 10_000,
  });
  await new Promise<void>((resolve) => listener.stdout!.once('data', () => resolve()));
  const connect = `import socket\nsocket.create_connection(('${peer}', ${port}), timeout=5).close()`;
  await from.exec('/usr/bin/python3', ['-c', connect]);
  return (await listener).stdout.split('\n').at(-1)!.trim();
}

kernel(
  'pods get addresses from the agent, reach each other, the node and the VPC peer, and leave without a trace',
  async (t) => {
    const b = await bed(t, 't3.medium');
    const node = b.sims.node!;
    const pods = await Promise.all(Array.from({ length: 7 }, (_, i) => b.pod(t, `web-${i}`)));
    const ips = await Promise.all(pods.map(async (p) => addressOf(await b.runtime.add(p.attachment))));
    t.is(new Set(ips).size, 7, `distinct addresses: ${ips.join(' ')}`);

    // t3.medium holds 5 secondary addresses per ENI: seven pods need a second ENI, and its addresses are on it.
    const leases = b.agent.node.engine.store.leases();
    const secondary = leases.filter((l) => l.deviceNumber > 0);
    t.true(secondary.length >= 1, 'at least one pod on a secondary ENI');
    const rules = await nodeIp(b.nodeNs, ['rule', 'show']);
    for (const l of secondary)
      t.regex(rules, new RegExp(`1536:\\s+from ${l.ip.replaceAll('.', '\\.')} lookup ${l.deviceNumber + 1}`));

    for (const [i, p] of pods.entries()) {
      t.true(await pings(p.ns, node.primaryIp), `pod ${ips[i]} → node`);
      t.true(await pings(p.ns, node.vpcPeer), `pod ${ips[i]} → VPC peer ${node.vpcPeer}`);
      t.true(await pings(p.ns, node.internetPeer), `pod ${ips[i]} → internet peer (SNAT to ${node.primaryIp})`);
    }
    t.true(await pings(pods[0]!.ns, ips[6]!), 'pod to pod');
    // Inside the VPC there is no SNAT: the VPC peer sees each pod's own address, on the primary ENI and on another.
    const onDevice = (primary: boolean) =>
      ips.findIndex((ip) => leases.some((l) => l.ip === ip && (l.deviceNumber === 0) === primary));
    for (const at of [onDevice(true), onDevice(false)]) {
      t.is(await sourceSeenBy(node.vpcNetns, node.vpcPeer, pods[at]!.ns), ips[at]!);
    }

    // The agent's own plan carries every wired pod: a re-sync finds nothing to change.
    t.is((await b.agent.host.sync()).changes, 0);
    // And so does `vpc-cni plan` on the node, reading the pods from the agent's checkpoint.
    const plan = await execa(
      process.execPath,
      [new URL('../../bin/vpc-cni.js', import.meta.url).pathname, 'plan', '--netns', b.nodeNs, '--detailed-exitcode'],
      {
        reject: false,
        env: {
          AWS_EC2_METADATA_SERVICE_ENDPOINT: b.sims.imdsUrl,
          AWS_VPC_K8S_CNI_BACKING_STORE: join(b.stateDir, 'ipam.json'),
        },
      },
    );
    t.is(plan.exitCode, 0, `${plan.stdout}\n${plan.stderr}`);
    t.regex(plan.stderr, /pods: 7 wired of 7/);

    const check = await b.runtime.check(pods[0]!.attachment);
    t.true(check.ok, JSON.stringify(check));

    for (const p of pods) {
      const del = await b.runtime.del(p.attachment);
      t.true(del.ok, JSON.stringify(del));
      t.true((await b.runtime.del(p.attachment)).ok, 'DEL twice');
    }
    t.is(b.agent.node.engine.store.leases().length, 0, 'every address released');
    const links = await nodeIp(b.nodeNs, ['-o', 'link', 'show']);
    t.notRegex(links, /eni[0-9a-f]{11}/, 'no host veth left');
    t.notRegex(await nodeIp(b.nodeNs, ['rule', 'show']), /^(512|1536):/m, 'no pod rule left');
    t.is((await b.agent.host.sync()).changes, 0);
  },
);

kernel(
  'a burst beyond the node gets typed errors, not hangs; GC releases what the runtime no longer lists',
  async (t) => {
    const b = await bed(t, 't3.medium');
    const pods = await Promise.all(Array.from({ length: 18 }, (_, i) => b.pod(t, `burst-${i}`)));
    const replies = await Promise.all(pods.map((p) => b.runtime.add(p.attachment)));
    const ok = replies.filter((r) => r.ok);
    const failed = replies.flatMap((r) => (r.ok ? [] : [CniErrorObject.parse(r.error)]));
    // 3 ENIs × 5 secondary addresses.
    t.is(ok.length, 15);
    t.is(new Set(ok.map(addressOf)).size, 15);
    t.is(failed.length, 3);
    for (const e of failed) {
      t.is(e.code, 100, e.msg);
      t.is(JSON.parse(e.details ?? '{}').code, 'ENI_LIMIT', e.msg);
    }
    // Nothing of the failed ADDs is left in the node.
    const vethCount = (await nodeIp(b.nodeNs, ['-o', 'link', 'show']))
      .split('\n')
      .filter((l) => /eni[0-9a-f]{11}@/.test(l));
    t.is(vethCount.length, 15);

    // libcni sends GC only for lists of cniVersion >= 1.1.0, and 10-aws.conflist says 0.4.0 as the reference's does:
    // the GC goes to the agent as the plugin forwards it (the plugin's side: test/cni/plugin.kernel.test.ts).
    const keep = pods.slice(0, 4).map((p) => ({ containerId: p.attachment.containerId, ifName: 'eth0' }));
    const gc = await call(b.agent.socketPath, { op: 'GC', networkName: NETWORK_NAME, valid: keep });
    t.is(gc.ok && gc.op === 'GC' ? gc.released : -1, 11);
    t.is(b.agent.node.engine.store.leases().length, 4);
  },
);

kernel('DEL works with the agent stopped; the other pods keep working', async (t) => {
  const b = await bed(t, 't3.medium');
  const pods = await Promise.all(Array.from({ length: 3 }, (_, i) => b.pod(t, `db-${i}`)));
  const ips = [];
  for (const p of pods) ips.push(addressOf(await b.runtime.add(p.attachment)));
  await b.agent.stop();
  const del = await b.runtime.del(pods[0]!.attachment);
  t.true(del.ok, JSON.stringify(del));
  t.notRegex(await nodeIp(b.nodeNs, ['route', 'show']), new RegExp(`^${ips[0]!.replaceAll('.', '\\.')} `, 'm'));
  t.true(await pings(pods[1]!.ns, b.sims.node!.vpcPeer), 'the other pods keep working with the agent down');
});

kernel('50 concurrent ADDs get 50 distinct addresses, waiting for the ENIs they need instead of failing', async (t) => {
  // m5.xlarge: 4 ENIs × 14 secondary addresses; fifty pods need all four, attached while the ADDs wait.
  const b = await bed(t, 'm5.xlarge');
  const pods = await Promise.all(Array.from({ length: 50 }, (_, i) => b.pod(t, `fifty-${i}`)));
  const replies = await Promise.all(pods.map((p) => b.runtime.add(p.attachment)));
  const failed = replies.flatMap((r) => (r.ok ? [] : [`${r.error.code} ${r.error.msg}`]));
  t.deepEqual(failed, []);
  const ips = replies.map(addressOf);
  t.is(new Set(ips).size, 50);
  t.is(new Set(b.agent.node.engine.store.leases().map((l) => l.ip)).size, 50);
  t.true(await pings(pods[49]!.ns, b.sims.node!.vpcPeer), 'the last pod is wired');
});

// Serial: its simulators answer from this worker while the agent runs in a child; alone, no sibling test's burst of
// namespaces and processes delays IMDS past the agent's 1 s per-request timeout (seen once in a loaded run).
kernel.serial(
  'vpc-cni agent killed -9 mid-ADD and restarted: every pod keeps its address, none is both free and wired; SIGTERM exits 0',
  async (t) => {
    const { sims, nodeNs, bin, conf, state, cache } = await simulatedNode(t, 'vc-agentk', 't3.medium');
    const env = {
      ...sims.agentEnv,
      VPC_CNI_CACHE_DIR: TEST_SEA_CACHE,
      AWS_VPC_K8S_PLUGIN_LOG_FILE: join(state, 'plugin.log'),
    };
    const args = [BIN, 'agent', '--netns', nodeNs, '--state-dir', state, '--bin-dir', bin, '--conf-dir', conf];
    const start = async () => {
      const child = execa(process.execPath, args, { env, extendEnv: false, reject: false, all: true });
      let seen = '';
      await new Promise<void>((resolve, reject) => {
        child.all!.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          if (seen.includes(' ready: ')) resolve();
        });
        void child.then(() => reject(new Error(`agent exited before ready:\n${seen}`)));
      });
      // Boxed: an async function returning the child (a promise) would wait for it to exit.
      return { child };
    };
    let agent = (await start()).child;
    t.teardown(() => {
      agent.kill('SIGKILL');
    });
    const runtime = await cniRuntime({
      confDir: conf,
      network: NETWORK_NAME,
      binDirs: [bin],
      cacheDir: cache,
      nodeNetns: nodeNs,
    });
    const pod = async (name: string) => {
      const ns = await createNetns(t, 'agk');
      return {
        ns,
        attachment: {
          containerId: `c${randomBytes(8).toString('hex')}`,
          netns: ns.path,
          podName: name,
          podNamespace: 'default',
        },
      };
    };
    const first = await Promise.all(Array.from({ length: 3 }, (_, i) => pod(`k-${i}`)));
    const firstIps = await Promise.all(first.map(async (p) => addressOf(await runtime.add(p.attachment))));
    // A second wave, cut by kill -9 while its ADDs are in flight.
    const second = await Promise.all(Array.from({ length: 4 }, (_, i) => pod(`k2-${i}`)));
    const wave = Promise.all(second.map((p) => runtime.add(p.attachment)));
    await new Promise((resolve) => setTimeout(resolve, 150));
    agent.kill('SIGKILL');
    await agent;
    const waveReplies = await wave;
    agent = (await start()).child;

    // The first pods still have their addresses, by the restarted agent's word and in the kernel.
    for (const [i, p] of first.entries()) {
      const check = await runtime.check(p.attachment);
      t.true(check.ok, JSON.stringify(check));
      t.true(await pings(p.ns, sims.node!.vpcPeer), `pod ${firstIps[i]} still reaches the VPC peer`);
    }
    // Pods whose ADD was cut are either wired and known, or neither: the runtime DELs a failed ADD, which must succeed.
    for (const [i, p] of second.entries()) {
      if (!waveReplies[i]!.ok) t.true((await runtime.del(p.attachment)).ok, 'DEL of a cut ADD');
    }
    const checkpoint = JSON.parse(await readFile(join(state, 'ipam.json'), 'utf8')) as {
      allocations: Array<{ ipv4: string; containerID: string }>;
    };
    const held = checkpoint.allocations.map((a) => a.ipv4);
    t.is(new Set(held).size, held.length, 'no address held twice');
    const routes = (await nodeIp(nodeNs, ['-4', 'route', 'show', 'table', 'main', 'scope', 'link']))
      .split('\n')
      .filter((l) => / dev eni[0-9a-f]{11}/.test(l))
      .map((l) => l.split(' ')[0]!);
    for (const ip of routes) t.true(held.includes(ip), `${ip} is wired and held`);
    t.is(routes.length, held.length, 'every held address is wired');

    agent.kill('SIGTERM');
    t.is((await agent).exitCode, 0);
  },
);

kernel("Debian's tuning and bandwidth run chained after aws-cni on its prevResult", async (t) => {
  const b = await bed(t, 't3.medium');
  // A second network in the same conf dir: aws-cni as the agent installed it, then tuning and bandwidth.
  const installed = JSON.parse(await readFile(b.agent.install.conflist.path, 'utf8')) as {
    plugins: Array<Record<string, unknown>>;
  };
  const chained = {
    cniVersion: '1.0.0',
    name: 'aws-chained',
    plugins: [
      installed.plugins[0],
      { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.arp_announce': '2' } },
      {
        type: 'bandwidth',
        ingressRate: 100_000_000,
        ingressBurst: 1_000_000,
        egressRate: 100_000_000,
        egressBurst: 1_000_000,
      },
    ],
  };
  const confDir = join(b.agent.install.conflist.path, '..');
  await writeFile(join(confDir, '20-aws-chained.conflist'), JSON.stringify(chained));
  const runtime = await cniRuntime({
    confDir,
    network: 'aws-chained',
    binDirs: [join(b.agent.install.plugin.path, '..')],
    cacheDir: join(confDir, '..', 'cache-chained'),
    nodeNetns: b.nodeNs,
  });
  const p = await b.pod(t, 'tuned');
  const ip = addressOf(await runtime.add(p.attachment));
  t.is(
    (await p.ns.exec('/usr/sbin/sysctl', ['-n', 'net.ipv4.conf.eth0.arp_announce'])).trim(),
    '2',
    'tuning ran in the pod',
  );
  // bandwidth shapes the host end of the pod's veth (and an ifb for egress), in the node's namespace.
  const hostVeth = hostVethName('eni', 'default', 'tuned');
  t.regex(await nodeIp(b.nodeNs, ['link', 'show', hostVeth]), /state UP/);
  const qdisc = await execa('/usr/sbin/tc', ['-n', b.nodeNs, 'qdisc', 'show', 'dev', hostVeth], {
    env: {},
    extendEnv: false,
  });
  t.regex(qdisc.stdout, /tbf/, 'bandwidth shaped the host end');
  t.true(await pings(p.ns, b.sims.node!.vpcPeer), `pod ${ip} still reaches the VPC peer`);
  const del = await runtime.del(p.attachment);
  t.true(del.ok, JSON.stringify(del));
  t.is(b.agent.node.engine.store.leases().length, 0);
});
