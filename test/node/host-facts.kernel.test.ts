/** Interface names are found by MAC in the live kernel (own namespace `vc-facts-<hex>`, removed even on failure). */
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { namedNetns, Runner } from '../../src/apply/run.ts';
import { compileHostPlan } from '../../src/compiler/compile.ts';
import { listLinks, withInterfaceNames } from '../../src/node/host-facts.ts';
import { exampleNode, ipv4Config } from '../compiler/fixtures.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';

kernel('ENIs get the names of the links carrying their MACs, whatever the names are', async (t) => {
  const netns = `vc-facts-${randomBytes(4).toString('hex')}`;
  await execa('ip', ['netns', 'add', netns]);
  t.teardown(() => execa('ip', ['netns', 'del', netns], { reject: false }));
  const node = exampleNode('three-eni-two-cidrs');
  const unnamed = { ...node, enis: node.enis.map(({ interfaceName: _, ...eni }) => eni) };
  // Deliberately not eth0/eth1: names must come from the MAC, and one ENI has no link yet.
  const names = ['ens5', 'ens6'];
  for (const [i, name] of names.entries()) {
    const mac = node.enis[i]!.mac.toUpperCase(); // ip prints lower case; compare must not care
    await execa('ip', ['-n', netns, 'link', 'add', name, 'address', mac, 'type', 'veth', 'peer', 'name', `p${name}`]);
  }
  const { facts, unresolved } = withInterfaceNames(unnamed, await listLinks(new Runner(namedNetns(netns))));
  t.deepEqual(
    facts.enis.map((e) => e.interfaceName),
    ['ens5', 'ens6', undefined],
  );
  t.deepEqual(
    unresolved.map((e) => e.interfaceId),
    ['eni-0f9e8d7c6b5a40003'],
  );
  const resolved = { ...facts, enis: facts.enis.slice(0, 2) };
  t.is(compileHostPlan(ipv4Config(), resolved).node.primaryInterface, 'ens5');
});
