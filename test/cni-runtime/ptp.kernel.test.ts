import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AddResult, type CniRuntime, canBuildCniRuntime, cniRuntime } from '../helpers/cni-runtime.ts';
import { canCreateNetns, createNetns, type TestNetns } from '../helpers/netns.ts';

// The test runtime proven on its own, with Debian's ptp + host-local (the same veth + /32-style wiring our plugin
// does): if these fail, a failing aws-cni test is about the runtime, not the plugin.
const runnable = canCreateNetns && (await canBuildCniRuntime());
const kernel = runnable ? test : test.skip;
const why = runnable ? '' : ' (skipped: needs root for namespaces and golang-go + golang-github-appc-cni-dev)';

const SUBNET = '10.231.0.0/24';

interface Bed {
  readonly runtime: CniRuntime;
  readonly node: TestNetns;
  readonly ipamDir: string;
  pod(t: ExecutionContext): Promise<{ ns: TestNetns; attachment: { containerId: string; netns: string } }>;
}

async function bed(t: ExecutionContext): Promise<Bed> {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-ptp-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const ipamDir = join(dir, 'ipam');
  const conflist = {
    cniVersion: '1.0.0',
    name: 'ptp-test',
    plugins: [
      {
        type: 'ptp',
        mtu: 1500,
        ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir },
      },
      // Chained as 10-aws.conflist chains it after aws-cni: it must pass the result on with an empty environment.
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
  await writeFile(join(dir, '10-ptp.conflist'), JSON.stringify(conflist));
  const node = await createNetns(t, 'rtnode');
  const runtime = await cniRuntime({
    confDir: dir,
    network: 'ptp-test',
    binDirs: [],
    cacheDir: join(dir, 'cache'),
    nodeNetns: node.name,
  });
  return {
    runtime,
    node,
    ipamDir,
    async pod(tt) {
      const ns = await createNetns(tt, 'rtpod');
      return { ns, attachment: { containerId: `ctr${randomBytes(8).toString('hex')}`, netns: ns.path } };
    },
  };
}

kernel(
  `libcni runtime + ptp/host-local + portmap: ADD gives two pods addresses that reach each other; DEL removes them${why}`,
  async (t) => {
    const b = await bed(t);
    const version = await b.runtime.version();
    t.true(version.ok, JSON.stringify(version));

    const pods = [await b.pod(t), await b.pod(t)];
    const addresses: string[] = [];
    for (const p of pods) {
      const reply = await b.runtime.add(p.attachment);
      if (!reply.ok) return t.fail(JSON.stringify(reply.error));
      const result = AddResult.parse(reply.result);
      t.is(result.cniVersion, '1.0.0');
      const address = result.ips[0]!.address;
      t.regex(address, /^10\.231\.0\.\d+\/24$/);
      // The kernel agrees with the result: the pod's eth0 holds the address.
      t.regex(
        await p.ns.ip(['-4', '-o', 'address', 'show', 'dev', 'eth0']),
        new RegExp(` ${address.replace(/\./g, '\\.')} `),
      );
      addresses.push(address.split('/')[0]!);
    }
    t.not(addresses[0], addresses[1]);
    await pods[0]!.ns.exec('ping', ['-c', '1', '-W', '5', addresses[1]!]);
    const checked = await b.runtime.check(pods[0]!.attachment);
    t.true(checked.ok, JSON.stringify(checked));

    const hostVeths = async () =>
      (await b.node.ip(['-o', 'link', 'show', 'type', 'veth'])).trim().split('\n').filter(Boolean);
    t.is((await hostVeths()).length, 2);
    for (const p of pods) {
      const del = await b.runtime.del(p.attachment);
      t.true(del.ok, JSON.stringify(del));
      t.is((await p.ns.ip(['-o', 'link', 'show', 'dev', 'eth0']).catch(() => 'gone')).trim(), 'gone');
      const again = await b.runtime.del(p.attachment);
      t.true(again.ok, `DEL twice: ${JSON.stringify(again)}`);
    }
    t.deepEqual(await hostVeths(), []);
    // host-local released both addresses: only its bookkeeping files remain.
    const leases = (await readdir(join(b.ipamDir, 'ptp-test'))).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
    t.deepEqual(leases, []);
    t.is((await b.node.ip(['-4', 'route', 'show'])).includes('10.231.0.'), false, 'no pod route left on the node');
  },
);

kernel(`libcni runtime: a plugin that is not on CNI_PATH is an error reply, not a crash${why}`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-rt-missing-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, '10-x.conflist'),
    JSON.stringify({ cniVersion: '1.0.0', name: 'missing', plugins: [{ type: 'no-such-plugin' }] }),
  );
  const node = await createNetns(t, 'rtnode');
  const pod = await createNetns(t, 'rtpod');
  const runtime = await cniRuntime({
    confDir: dir,
    network: 'missing',
    binDirs: [],
    cacheDir: join(dir, 'cache'),
    nodeNetns: node.name,
  });
  const reply = await runtime.add({ containerId: 'ctr1', netns: pod.path });
  t.false(reply.ok);
  if (!reply.ok) t.regex(reply.error.msg, /no-such-plugin/);
});
