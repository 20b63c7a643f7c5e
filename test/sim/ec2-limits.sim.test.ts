import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
} from '@aws-sdk/client-ec2';
import test from 'ava';
import { startSimulators } from '../../src/sim/index.ts';
import { ec2Client, errorCode } from './ec2-client.ts';

/** A VPC whose node subnet is a /26: 59 usable addresses, four /28 blocks of which the first and last hold reserved ones. */
const tinyVpc = {
  cidrs: ['10.1.0.0/16'],
  subnets: [{ cidr: '10.1.0.0/26', zone: 'us-west-2a' }],
  securityGroups: [{ name: 'nodes', description: 'nodes' }],
};

test('an m5.large takes 3 ENIs of 10 addresses: AttachmentLimitExceeded and PrivateIpAddressLimitExceeded', async (t) => {
  const sims = await startSimulators({ instanceType: 'm5.large' });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const create = async () =>
    (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId }))).NetworkInterface!
      .NetworkInterfaceId!;
  const attach = (id: string, DeviceIndex: number) =>
    ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: id, InstanceId: sims.instance.id, DeviceIndex }));
  const second = await create();
  await attach(second, 1);
  await attach(await create(), 2);
  const fourth = await create();
  t.is(await errorCode(attach(fourth, 3)), 'AttachmentLimitExceeded');
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: fourth }));

  await ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: second, SecondaryPrivateIpAddressCount: 9 }),
  );
  t.is(
    await errorCode(
      ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: second, SecondaryPrivateIpAddressCount: 1 })),
    ),
    'PrivateIpAddressLimitExceeded',
  );
  const eni = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [second] })))
    .NetworkInterfaces![0]!;
  t.is(eni.PrivateIpAddresses!.length, 10);
  t.is(
    await errorCode(
      ec2.send(
        new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId, SecondaryPrivateIpAddressCount: 10 }),
      ),
    ),
    'PrivateIpAddressLimitExceeded',
  );
});

test('prefixes fragment a subnet: InsufficientCidrBlocks while single addresses remain', async (t) => {
  const sims = await startSimulators({ vpc: tinyVpc });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const subnetId = sims.instance.subnetId;
  const free = async () =>
    (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!.AvailableIpAddressCount!;
  t.is(await free(), 64 - 5 - 1, 'AWS reserves 5, the node holds 1');
  const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Ipv4PrefixCount: 2 })))
    .NetworkInterface!;
  t.deepEqual(
    eni.Ipv4Prefixes!.map((p) => p.Ipv4Prefix),
    ['10.1.0.16/28', '10.1.0.32/28'],
  );
  const eniId = eni.NetworkInterfaceId!;
  t.is(
    await errorCode(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }))),
    'InsufficientCidrBlocks',
  );
  t.true((await free()) > 20, 'single addresses remain');
  const single = await ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 2 }),
  );
  t.is(single.AssignedPrivateIpAddresses!.length, 2);
});

test('a request the subnet cannot fill takes nothing: InsufficientFreeAddressesInSubnet', async (t) => {
  const sims = await startSimulators({ instanceType: 'c5.18xlarge', vpc: tinyVpc });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const subnetId = sims.instance.subnetId;
  const first = await ec2.send(
    new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: 40 }),
  );
  t.is(first.NetworkInterface!.PrivateIpAddresses!.length, 41);
  const before = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!
    .AvailableIpAddressCount!;
  t.is(
    await errorCode(
      ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, SecondaryPrivateIpAddressCount: 20 })),
    ),
    'InsufficientFreeAddressesInSubnet',
  );
  const after = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!
    .AvailableIpAddressCount!;
  t.is(after, before, 'the failed request gave back what it had taken');
});

test('throttling answers RequestLimitExceeded (503) per action class and refills over time', async (t) => {
  const sims = await startSimulators({
    throttle: {
      // Slow refill: the four describes below must finish well inside one token's refill even on a loaded machine.
      'non-mutating': { burst: 3, ratePerSecond: 1 },
      unfiltered: { burst: 3, ratePerSecond: 1 },
      mutating: { burst: 2, ratePerSecond: 0.001 },
    },
  });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const describe = () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [sims.instance.subnetId] }));
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push(await errorCode(describe()));
  t.deepEqual(codes, ['no error', 'no error', 'no error', 'RequestLimitExceeded']);
  const create = () => ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId }));
  t.deepEqual(
    [await errorCode(create()), await errorCode(create()), await errorCode(create())],
    ['no error', 'no error', 'RequestLimitExceeded'],
  );
  const throttled = sims.audit.entries({ outcome: 'RequestLimitExceeded' });
  t.deepEqual(
    throttled.map((e) => [e.action, e.status]),
    [
      ['DescribeSubnets', 503],
      ['CreateNetworkInterface', 503],
    ],
  );
  await new Promise((resolve) => setTimeout(resolve, 1100));
  t.is(await errorCode(describe()), 'no error', 'the describe bucket refilled');
  t.is(sims.model.enis.size, 3, 'the throttled create created nothing');
});

test('faults: fail the Nth call, and fail the attach that follows a create', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  sims.faults.failNth('DescribeSubnets', 2, { code: 'UnauthorizedOperation', status: 403 });
  const describe = () => errorCode(ec2.send(new DescribeSubnetsCommand({})));
  t.deepEqual(
    [await describe(), await describe(), await describe()],
    ['no error', 'UnauthorizedOperation', 'no error'],
  );

  sims.faults.failAttachAfterCreate();
  const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId })))
    .NetworkInterface!;
  const attach = () =>
    ec2.send(
      new AttachNetworkInterfaceCommand({
        NetworkInterfaceId: eni.NetworkInterfaceId,
        InstanceId: sims.instance.id,
        DeviceIndex: 1,
      }),
    );
  t.is(await errorCode(attach()), 'InternalError');
  t.deepEqual(
    sims.model.unattachedEnis().map((e) => e.id),
    [eni.NetworkInterfaceId],
    'the created ENI is left for the caller to clean up',
  );
  t.is(await errorCode(attach()), 'no error', 'the fault fires once');
});
