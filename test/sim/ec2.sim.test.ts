import {
  AssignIpv6AddressesCommand,
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DeleteTagsCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import test from 'ava';
import { startSimulators } from '../../src/sim/index.ts';
import { ec2Client, errorCode } from './ec2-client.ts';

test('the EC2 client drives a whole ENI lifecycle and the model ends with nothing leaked', async (t) => {
  const sims = await startSimulators({ instanceType: 'm5.large' });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const [subnet] = (
    await ec2.send(
      new DescribeSubnetsCommand({ Filters: [{ Name: 'availability-zone', Values: [sims.instance.zone] }] }),
    )
  ).Subnets!;
  const [group] = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups!;
  const freeBefore = subnet!.AvailableIpAddressCount!;

  const created = (
    await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: subnet!.SubnetId,
        Description: `aws-K8S-${sims.instance.id}`,
        Groups: [group!.GroupId!],
        SecondaryPrivateIpAddressCount: 2,
        TagSpecifications: [
          {
            ResourceType: 'network-interface',
            Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: sims.instance.id }],
          },
        ],
      }),
    )
  ).NetworkInterface!;
  const eniId = created.NetworkInterfaceId!;
  t.is(created.Status, 'available');
  t.is(created.PrivateIpAddresses!.length, 3);
  t.deepEqual(
    created.Groups!.map((g) => g.GroupId),
    [group!.GroupId],
  );

  const { AttachmentId } = await ec2.send(
    new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: sims.instance.id, DeviceIndex: 1 }),
  );
  await ec2.send(
    new ModifyNetworkInterfaceAttributeCommand({
      NetworkInterfaceId: eniId,
      Attachment: { AttachmentId, DeleteOnTermination: true },
    }),
  );
  const assigned = await ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 3 }),
  );
  t.is(assigned.AssignedPrivateIpAddresses!.length, 3);
  const prefix = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }));
  t.regex(prefix.AssignedIpv4Prefixes![0]!.Ipv4Prefix!, /\/28$/);
  const v6 = await ec2.send(new AssignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6AddressCount: 2 }));
  t.is(v6.AssignedIpv6Addresses!.length, 2);

  const mine = await ec2.send(
    new DescribeNetworkInterfacesCommand({
      Filters: [
        { Name: 'tag-key', Values: ['node.k8s.amazonaws.com/instance_id'] },
        { Name: 'attachment.instance-id', Values: [sims.instance.id] },
        { Name: 'status', Values: ['in-use'] },
      ],
    }),
  );
  t.deepEqual(
    mine.NetworkInterfaces!.map((eni) => eni.NetworkInterfaceId),
    [eniId],
  );
  const described = mine.NetworkInterfaces![0]!;
  t.is(described.Attachment!.DeviceIndex, 1);
  t.true(described.Attachment!.DeleteOnTermination);
  t.is(described.PrivateIpAddresses!.length, 6);
  t.is(described.Ipv4Prefixes!.length, 1);
  const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [sims.instance.id] }))).Reservations![0]!
    .Instances![0]!;
  t.deepEqual(instance.NetworkInterfaces!.map((eni) => eni.Attachment!.DeviceIndex).sort(), [0, 1]);

  await ec2.send(
    new CreateTagsCommand({ Resources: [eniId], Tags: [{ Key: 'cluster.k8s.amazonaws.com/name', Value: 'demo' }] }),
  );
  t.is(
    (
      await ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'tag:cluster.k8s.amazonaws.com/name', Values: ['demo'] }],
        }),
      )
    ).NetworkInterfaces!.length,
    1,
  );
  await ec2.send(new DeleteTagsCommand({ Resources: [eniId], Tags: [{ Key: 'cluster.k8s.amazonaws.com/name' }] }));
  t.is(
    (
      await ec2.send(
        new DescribeNetworkInterfacesCommand({
          Filters: [{ Name: 'tag-key', Values: ['cluster.k8s.amazonaws.com/name'] }],
        }),
      )
    ).NetworkInterfaces!.length,
    0,
  );

  const secondaries = described.PrivateIpAddresses!.filter((ip) => !ip.Primary).map((ip) => ip.PrivateIpAddress!);
  await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: secondaries }));
  await ec2.send(
    new UnassignPrivateIpAddressesCommand({
      NetworkInterfaceId: eniId,
      Ipv4Prefixes: [described.Ipv4Prefixes![0]!.Ipv4Prefix!],
    }),
  );
  t.is(
    await errorCode(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }))),
    'InvalidNetworkInterface.InUse',
  );
  await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
  await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }));

  t.deepEqual(sims.model.unattachedEnis(), []);
  const after = (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet!.SubnetId!] }))).Subnets![0]!;
  t.is(after.AvailableIpAddressCount, freeBefore, 'every address went back to the subnet');
  t.is(sims.audit.count({ service: 'ec2', action: 'AssignPrivateIpAddresses' }), 2);
});

test('EC2 answers its own error codes for unknown ids, bad parameters and refused operations', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const primary = sims.instance.primaryEniId;
  const attachment = sims.model.eni(primary).attachment!.id;
  const cases: [string, Promise<unknown>][] = [
    [
      'InvalidNetworkInterfaceID.NotFound',
      ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })),
    ],
    [
      'InvalidNetworkInterfaceID.NotFound',
      ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: 'eni-0123456789abcdef0' })),
    ],
    ['InvalidSubnetID.NotFound', ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0' }))],
    ['InvalidInstanceID.NotFound', ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }))],
    [
      'InvalidAttachmentID.NotFound',
      ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0123456789abcdef0' })),
    ],
    ['InvalidInstanceType', ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.huge' as never] }))],
    [
      'InvalidParameterValue',
      ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'no-such-filter', Values: ['x'] }] })),
    ],
    [
      'InvalidParameterValue',
      ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primary, SecondaryPrivateIpAddressCount: 0 })),
    ],
    ['MissingParameter', ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primary }))],
    [
      'InvalidParameterCombination',
      ec2.send(
        new AssignPrivateIpAddressesCommand({
          NetworkInterfaceId: primary,
          SecondaryPrivateIpAddressCount: 1,
          Ipv4PrefixCount: 1,
        }),
      ),
    ],
    [
      'InvalidParameterValue',
      ec2.send(
        new UnassignPrivateIpAddressesCommand({
          NetworkInterfaceId: primary,
          PrivateIpAddresses: [sims.model.eni(primary).privateIps[0]!.address],
        }),
      ),
    ],
    ['OperationNotPermitted', ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment }))],
    ['InvalidNetworkInterface.InUse', ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: primary }))],
    [
      'InvalidNetworkInterface.InUse',
      ec2.send(
        new AttachNetworkInterfaceCommand({
          NetworkInterfaceId: primary,
          InstanceId: sims.instance.id,
          DeviceIndex: 2,
        }),
      ),
    ],
  ];
  for (const [code, call] of cases) t.is(await errorCode(call), code);
  t.deepEqual(sims.model.unattachedEnis(), [], 'no failed call created anything');
});

test('DescribeNetworkInterfaces pages with MaxResults and NextToken', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const subnetId = sims.instance.subnetId;
  for (let i = 0; i < 6; i++) await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId }));
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeNetworkInterfacesCommand({
        MaxResults: 5,
        NextToken: token,
        Filters: [{ Name: 'vpc-id', Values: [sims.model.vpcId] }],
      }),
    );
    t.true(page.NetworkInterfaces!.length <= 5);
    seen.push(...page.NetworkInterfaces!.map((eni) => eni.NetworkInterfaceId!));
    token = page.NextToken;
  } while (token);
  t.is(new Set(seen).size, 7);
  t.is(
    await errorCode(ec2.send(new DescribeNetworkInterfacesCommand({ MaxResults: 5, NetworkInterfaceIds: [seen[0]!] }))),
    'InvalidParameterCombination',
  );
});

test('requests without a SigV4 Authorization header are refused', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const response = await fetch(sims.ec2Url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Action=DescribeSubnets&Version=2016-11-15',
  });
  t.is(response.status, 401);
  t.regex(await response.text(), /<Code>AuthFailure<\/Code>/);
});

test('an oversized request body is a 4xx in EC2 error XML, not a simulator bug', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const big = `Action=DescribeSubnets&Version=2016-11-15&Filter.1.Value.1=${'a'.repeat(2 << 20)}`;
  const headers = { 'content-type': 'application/x-www-form-urlencoded', authorization: 'AWS4-HMAC-SHA256 x' };
  const declared = await fetch(sims.ec2Url, { method: 'POST', headers, body: big });
  t.is(declared.status, 413);
  t.regex(await declared.text(), /<Response><Errors><Error><Code>RequestEntityTooLarge<\/Code>/);
  // Streamed without a Content-Length: the body is read to its end, dropped, and answered the same way.
  const streamed = await fetch(sims.ec2Url, {
    method: 'POST',
    headers,
    body: new Blob([big]).stream(),
    duplex: 'half',
  } as RequestInit);
  t.is(streamed.status, 413);
  t.regex(await streamed.text(), /<Code>RequestEntityTooLarge<\/Code>/);
});
