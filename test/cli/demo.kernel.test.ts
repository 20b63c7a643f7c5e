import { execa } from 'execa';
import * as z from 'zod';
import { kernelTest } from '../helpers/needs.ts';

// `vpc-cni demo` is the README's first command: the packaged CLI, as a user runs it, must wire pods that reach every
// peer and leave no namespace behind.
const BIN = new URL('../../bin/vpc-cni.js', import.meta.url).pathname;
const Outcome = z.object({
  pods: z.array(
    z.object({
      address: z.string(),
      deviceNumber: z.number(),
      reaches: z.object({ node: z.boolean(), vpcPeer: z.boolean(), internetPeer: z.boolean(), pod: z.boolean() }),
    }),
  ),
});

kernelTest(
  'vpc-cni demo wires pods on two ENIs that reach the node, the VPC peer, the internet peer and each other',
  async (t) => {
    const before = (await execa('/usr/sbin/ip', ['netns', 'list'])).stdout;
    const result = await execa(process.execPath, [BIN, 'demo', '--pods', '6', '--output', 'json'], { reject: false });
    t.is(result.exitCode, 0, result.stderr);
    const { pods } = Outcome.parse(JSON.parse(result.stdout));
    t.is(pods.length, 6);
    t.is(new Set(pods.map((p) => p.address)).size, 6);
    t.true(
      pods.some((p) => p.deviceNumber > 0),
      'the sixth pod needs the second ENI',
    );
    for (const p of pods)
      t.deepEqual(p.reaches, { node: true, vpcPeer: true, internetPeer: true, pod: true }, p.address);
    const after = (await execa('/usr/sbin/ip', ['netns', 'list'])).stdout;
    t.false(/vcdemo-/.test(after) && !/vcdemo-/.test(before), 'no demo namespace left');
  },
);

kernelTest('vpc-cni demo refuses a pod count it cannot place', async (t) => {
  const result = await execa(process.execPath, [BIN, 'demo', '--pods', '99'], { reject: false });
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /--pods must be 1-15, got 99/);
});
