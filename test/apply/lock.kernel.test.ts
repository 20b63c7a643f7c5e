import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { apply } from '../../src/apply/apply.ts';
import { diff } from '../../src/apply/diff.ts';
import { readForPlan } from '../../src/apply/read.ts';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { addVeth, createNetns, type TestNetns } from '../helpers/netns.ts';
import { handPlan } from './fixtures.ts';

async function node(t: ExecutionContext): Promise<TestNetns> {
  const [ns, vpc] = await Promise.all([createNetns(t, 'lock'), createNetns(t, 'lockvpc')]);
  await addVeth(ns, { name: 'eth0', mac: '02:00:00:00:01:05', cidr: '10.0.1.5/24', peer: vpc, peerName: 'vpc0' });
  await addVeth(ns, { name: 'eth1', mac: '02:00:00:00:02:10', peer: vpc, peerName: 'vpc1' });
  for (const pod of ['enia', 'enib']) {
    await ns.ip(['link', 'add', pod, 'type', 'veth', 'peer', 'name', `p${pod}`]);
    await ns.ip(['link', 'set', pod, 'up']);
  }
  return ns;
}

kernel('three concurrent applies: one writes, the other two find nothing left to do, the node converges', async (t) => {
  const ns = await node(t);
  const plan = handPlan();
  const results = await Promise.all([1, 2, 3].map(() => apply(new Runner(namedNetns(ns.name)), plan)));
  t.deepEqual(results.map((r) => r.applied).sort(), [false, false, true]);
  const runner = new Runner(namedNetns(ns.name));
  t.deepEqual(diff(plan, await readForPlan(runner, plan)), []);
});

kernel('kill -9 of an apply in the middle of its writes, then apply again: the node converges', async (t) => {
  const ns = await node(t);
  const plan = handPlan();
  const dir = await mkdtemp(join(tmpdir(), 'vc-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'plan.json');
  await writeFile(file, JSON.stringify(plan));
  const child = execa(process.execPath, [new URL('./apply-child.ts', import.meta.url).pathname, ns.name, file], {
    reject: false,
  });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('applying')) resolve();
    });
    child.then(() => resolve());
  });
  child.kill('SIGKILL');
  const killed = await child;
  t.is(killed.signal, 'SIGKILL', 'the child was killed before it finished');
  const runner = new Runner(namedNetns(ns.name));
  await apply(runner, plan, { lock: { waitS: 10 } });
  t.deepEqual(diff(plan, await readForPlan(runner, plan)), []);
});
