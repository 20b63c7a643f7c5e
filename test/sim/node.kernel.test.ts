import { randomBytes } from 'node:crypto';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DetachNetworkInterfaceCommand,
  type EC2Client,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { type SimNode, type Simulators, startSimulators } from '../../src/sim/index.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { ec2Client } from './ec2-client.ts';

/**
 * The simulated node in real namespaces: eth0 as the instance boots with it, ENIs hot-plugged and unplugged as EC2
 * attaches and detaches them, and the VPC fabric routing each address to the ENI that holds it.
 */

const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

async function run(file: string, args: readonly string[]): Promise<string> {
  return (await execa(file, args, { env: { PATH: SYSTEM_PATH }, extendEnv: false, stdin: 'ignore' })).stdout;
}

function uniqueName(): string {
  return `vc-simnode-${randomBytes(4).toString('hex')}`;
}

interface Link {
  readonly ifname: string;
  readonly address: string;
  readonly operstate: string;
  readonly addr_info: { readonly family: string; readonly local: string; readonly prefixlen: number }[];
}

async function links(netns: string): Promise<Link[]> {
  return JSON.parse(await run('ip', ['-n', netns, '-j', 'address', 'show'])) as Link[];
}

async function linkWithMac(netns: string, mac: string): Promise<Link | undefined> {
  return (await links(netns)).find((link) => link.address === mac);
}

/** One echo request with a short wait: the answer is either there at once or never (no router in between drops). */
async function ping(netns: string, to: string, from?: string): Promise<boolean> {
  const source = from === undefined ? [] : ['-I', from];
  return run('ip', ['netns', 'exec', netns, 'ping', '-n', '-c1', '-W1', ...source, to]).then(
    () => true,
    () => false,
  );
}

async function simulatedNode(t: ExecutionContext): Promise<{ sims: Simulators; node: SimNode; ec2: EC2Client }> {
  const sims = await startSimulators({ throttle: false, nodeNetns: uniqueName() });
  t.teardown(() => sims.close());
  return { sims, node: sims.node!, ec2: ec2Client(sims) };
}

async function attachEni(sims: Simulators, ec2: EC2Client, deviceIndex: number, prefixCount = 0) {
  const created = await ec2.send(
    new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId, Ipv4PrefixCount: prefixCount || undefined }),
  );
  const eni = created.NetworkInterface!;
  const attached = await ec2.send(
    new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: eni.NetworkInterfaceId!,
      InstanceId: sims.instance.id,
      DeviceIndex: deviceIndex,
    }),
  );
  await sims.node!.settled();
  return {
    id: eni.NetworkInterfaceId!,
    mac: eni.MacAddress!,
    primaryIp: eni.PrivateIpAddress!,
    prefix: eni.Ipv4Prefixes?.[0]?.Ipv4Prefix,
    attachmentId: attached.AttachmentId!,
  };
}

kernel(
  'eth0 has the primary ENI’s MAC and address, and reaches the VPC and internet peers via the gateway',
  async (t) => {
    const { sims, node } = await simulatedNode(t);
    const primary = sims.model.eni(sims.instance.primaryEniId);
    const eth0 = (await links(node.netns)).find((link) => link.ifname === 'eth0');
    t.is(eth0?.address, primary.mac);
    t.is(eth0?.operstate, 'UP');
    t.deepEqual(
      eth0?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
      [`${node.primaryIp}/20`],
    );
    t.is(node.primaryIp, primary.privateIps[0]!.address);
    const routes = JSON.parse(await run('ip', ['-n', node.netns, '-j', 'route', 'show', 'default'])) as {
      gateway: string;
      dev: string;
    }[];
    t.deepEqual(
      routes.map((r) => `${r.gateway} ${r.dev}`),
      ['10.0.0.1 eth0'],
    );
    t.true(await ping(node.netns, node.vpcPeer), `VPC peer ${node.vpcPeer}`);
    t.true(await ping(node.netns, node.internetPeer), `internet peer ${node.internetPeer}`);
    t.false([...sims.model.subnets.values()].some((subnet) => subnet.containsAddress(node.vpcPeer)));
  },
);

kernel(
  'an ENI attached through EC2 appears in the node as a bare link with its MAC; detached, it is gone',
  async (t) => {
    const { sims, node, ec2 } = await simulatedNode(t);
    const eni = await attachEni(sims, ec2, 1);
    const link = await linkWithMac(node.netns, eni.mac);
    t.is(link?.ifname, 'eth1');
    t.is(link?.operstate, 'DOWN');
    t.deepEqual(link?.addr_info, []);
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: eni.attachmentId }));
    await node.settled();
    t.is(await linkWithMac(node.netns, eni.mac), undefined);
    t.deepEqual(
      (await links(node.netns)).map((l) => l.ifname),
      ['lo', 'eth0'],
    );
  },
);

kernel('an address assigned through EC2 and added on eth0 answers the VPC peer until it is unassigned', async (t) => {
  const { sims, node, ec2 } = await simulatedNode(t);
  const assigned = await ec2.send(
    new AssignPrivateIpAddressesCommand({
      NetworkInterfaceId: sims.instance.primaryEniId,
      SecondaryPrivateIpAddressCount: 1,
    }),
  );
  const address = assigned.AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
  await node.settled();
  await run('ip', ['-n', node.netns, 'address', 'add', `${address}/32`, 'dev', 'eth0']);
  t.true(await ping(node.vpcNetns, address, node.vpcPeer));
  await ec2.send(
    new UnassignPrivateIpAddressesCommand({
      NetworkInterfaceId: sims.instance.primaryEniId,
      PrivateIpAddresses: [address],
    }),
  );
  await node.settled();
  t.false(await ping(node.vpcNetns, address, node.vpcPeer), 'the fabric no longer routes an unassigned address');
});

kernel(
  'a prefix address on a secondary ENI is answered only through that ENI (source/destination check)',
  async (t) => {
    const { sims, node, ec2 } = await simulatedNode(t);
    const eni = await attachEni(sims, ec2, 1, 1);
    const podIp = eni.prefix!.replace(/\.(\d+)\/28$/, (_, last: string) => `.${Number(last) + 5}`);
    const ip = (args: string[]) => run('ip', ['-n', node.netns, ...args]);
    await ip(['link', 'set', 'eth1', 'up']);
    await ip(['address', 'add', `${podIp}/32`, 'dev', 'eth1']);
    // Without a rule the reply leaves by eth0, whose ENI does not hold the address: the fabric drops it.
    t.false(await ping(node.vpcNetns, podIp, node.vpcPeer), 'a reply through the wrong ENI is dropped');
    await ip(['route', 'add', 'default', 'via', node.gateway, 'dev', 'eth1', 'onlink', 'table', '2']);
    await ip(['rule', 'add', 'from', `${podIp}/32`, 'lookup', '2', 'priority', '1536']);
    t.true(await ping(node.vpcNetns, podIp, node.vpcPeer), 'the reply through its own ENI arrives');
    t.true(await ping(node.netns, node.vpcPeer, podIp), 'and so does a request from the address');
    t.false(await ping(node.netns, node.internetPeer, podIp), 'the internet gateway maps only the primary IP');
  },
);

kernel('close() leaves no namespace or veth behind', async (t) => {
  const name = uniqueName();
  const sims = await startSimulators({ throttle: false, nodeNetns: name });
  const eni = await attachEni(sims, ec2Client(sims), 1).catch(async (error: unknown) => {
    await sims.close();
    throw error;
  });
  const primaryMac = sims.model.eni(sims.instance.primaryEniId).mac;
  await sims.close();
  const namespaces = await run('ip', ['netns', 'list']);
  t.false(namespaces.includes(name), namespaces);
  const rootLinks = JSON.parse(await run('ip', ['-j', 'link', 'show'])) as Link[];
  t.false(
    rootLinks.some((link) => link.address === eni.mac || link.address === primaryMac),
    rootLinks.map((l) => l.ifname).join(' '),
  );
});

kernel('a layout that fails half-way removes the namespace it had already created', async (t) => {
  const name = uniqueName();
  await run('ip', ['netns', 'add', `${name}-vpc`]); // taken: the VPC namespace cannot be created
  t.teardown(() => run('ip', ['netns', 'del', `${name}-vpc`]));
  const error = await t.throwsAsync(startSimulators({ nodeNetns: name }));
  t.regex(error.message, new RegExp(`laying out the simulated node in namespace ${name}: .*${name}-vpc`));
  t.false((await run('ip', ['netns', 'list'])).split('\n').some((line) => line.split(' ')[0] === name));
});

kernel('npm run sim -- --node-netns prints the node in its JSON line and removes it on SIGTERM', async (t) => {
  const name = uniqueName();
  const child = execa('node_modules/.bin/node', ['src/sim/main.ts', '--profile', 'fast', '--node-netns', name], {
    reject: false,
  });
  t.teardown(() => child.kill());
  const line = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString())),
  );
  const ready = JSON.parse(line) as Record<string, string>;
  t.is(ready.nodeNetns, name);
  t.is(ready.vpcNetns, `${name}-vpc`);
  t.regex(ready.primaryIp!, /^10\.0\.\d+\.\d+$/);
  t.true(await ping(name, ready.vpcPeer!));
  t.true(await ping(name, ready.internetPeer!));
  child.kill('SIGTERM');
  t.is((await child).exitCode, 0);
  t.false((await run('ip', ['netns', 'list'])).includes(name));
});
