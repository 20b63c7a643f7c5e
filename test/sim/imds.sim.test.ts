import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
} from '@aws-sdk/client-ec2';
import { MetadataService } from '@aws-sdk/ec2-metadata-service';
import test from 'ava';
import { startSimulators } from '../../src/sim/index.ts';
import { ec2Client } from './ec2-client.ts';

async function imds(url: string) {
  const token = await (
    await fetch(`${url}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } })
  ).text();
  return async (path: string) => {
    const response = await fetch(`${url}${path}`, { headers: { 'x-aws-ec2-metadata-token': token } });
    return { status: response.status, text: await response.text() };
  };
}

test("the SDK's metadata client reads the instance from IMDS (token, doubled slash)", async (t) => {
  const sims = await startSimulators({ instanceType: 'c5.xlarge' });
  t.teardown(() => sims.close());
  const client = new MetadataService({ endpoint: sims.imdsUrl, retries: 0 });
  t.is(await client.request('/latest/meta-data/instance-id', {}), sims.instance.id);
  t.is(await client.request('/latest/meta-data/instance-type', {}), 'c5.xlarge');
  t.is(await client.request('/latest/meta-data/placement/region', {}), sims.region);
  const mac = await client.request('/latest/meta-data/mac', {});
  t.is(
    await client.request(`/latest/meta-data/network/interfaces/macs/${mac}/interface-id`, {}),
    sims.instance.primaryEniId,
  );
  t.true(sims.audit.entries({ service: 'imds' }).some((entry) => entry.action.startsWith('GET /latest/')));
});

test('IMDS refuses requests without a valid token and answers 404 for absent keys', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  t.is((await fetch(`${sims.imdsUrl}/latest/meta-data/mac`)).status, 401);
  t.is(
    (await fetch(`${sims.imdsUrl}/latest/meta-data/mac`, { headers: { 'x-aws-ec2-metadata-token': 'forged' } })).status,
    401,
  );
  t.is((await fetch(`${sims.imdsUrl}/latest/api/token`, { method: 'PUT' })).status, 400, 'a token needs a TTL');
  for (const ttl of ['1.0', '0x10', '1e3', '0', '21601']) {
    const asked = await fetch(`${sims.imdsUrl}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': ttl },
    });
    t.is(asked.status, 400, `TTL ${ttl}`);
  }
  const get = await imds(sims.imdsUrl);
  const mac = (await get('/latest/meta-data/mac')).text;
  const eni = `/latest/meta-data/network/interfaces/macs/${mac}`;
  t.is((await get(`${eni}/ipv4-prefix`)).status, 404);
  t.is((await get(`${eni}/ipv6s`)).status, 404);
  t.deepEqual((await get('//latest/meta-data/network/interfaces/macs/')).text.split('\n'), [`${mac}/`]);
  t.is((await get(`${eni}/vpc-ipv4-cidr-blocks`)).text, '10.0.0.0/16\n100.64.0.0/16');
  t.is((await get(`${eni}/subnet-ipv4-cidr-block`)).text, '10.0.0.0/20');
  t.is((await get(`${eni}/device-number`)).text, '0');
  t.is((await get(`${eni}/local-ipv4s`)).text, (await get('/latest/meta-data/local-ipv4')).text);
});

test('IMDS follows EC2 after the propagation delay: new ENI, addresses and prefixes', async (t) => {
  const sims = await startSimulators({ profileOverrides: { imdsPropagationMs: 1500 } });
  t.teardown(() => sims.close());
  const ec2 = ec2Client(sims);
  const get = await imds(sims.imdsUrl);
  const eni = (
    await ec2.send(
      new CreateNetworkInterfaceCommand({ SubnetId: sims.instance.subnetId, SecondaryPrivateIpAddressCount: 1 }),
    )
  ).NetworkInterface!;
  await ec2.send(
    new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: eni.NetworkInterfaceId,
      InstanceId: sims.instance.id,
      DeviceIndex: 1,
    }),
  );
  await ec2.send(
    new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Ipv4PrefixCount: 1 }),
  );
  const macs = '/latest/meta-data/network/interfaces/macs/';
  t.is((await get(macs)).text.split('\n').length, 1, 'IMDS still shows the old state');
  await new Promise((resolve) => setTimeout(resolve, 1700));
  t.is((await get(macs)).text.split('\n').length, 2);
  const base = `${macs}${eni.MacAddress}`;
  t.is((await get(`${base}/device-number`)).text, '1');
  t.is((await get(`${base}/interface-id`)).text, eni.NetworkInterfaceId!);
  t.is((await get(`${base}/local-ipv4s`)).text.split('\n').length, 2);
  t.regex((await get(`${base}/ipv4-prefix`)).text, /^10\.0\.\d+\.\d+\/28$/);
});

test('an injected IMDS delay slows every answer', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const get = await imds(sims.imdsUrl);
  sims.faults.delayImds(200);
  const started = performance.now();
  t.is((await get('/latest/meta-data/instance-id')).text, sims.instance.id);
  t.true(performance.now() - started >= 190);
});

test("agentEnv names the simulators' endpoints; agentOptions says so when they lay out no node", async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  t.throws(() => sims.agentOptions({ bin: '/b', conf: '/c', state: '/s' }), { message: /start them with nodeNetns/ });
  t.is(sims.agentEnv.AWS_EC2_METADATA_SERVICE_ENDPOINT, sims.imdsUrl);
  t.is(sims.agentEnv.AWS_ENDPOINT_URL_EC2, sims.ec2Url);
});
