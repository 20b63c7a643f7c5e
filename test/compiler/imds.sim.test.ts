/** The IMDSv2 client against the IMDS simulator: token flow, every fact, timeouts and the unreachable error. */
import { createServer } from 'node:net';
import test from 'ava';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { startNode } from '../../src/harness/simulate.ts';
import { ImdsClient, ImdsError, readIpamNode, readNodeFacts } from '../../src/ipam/cloud/imds.ts';
import { startSimulators } from '../../src/sim/index.ts';

test('readNodeFacts reads the node and every attached ENI from IMDSv2', async (t) => {
  const sims = await startSimulators({ instanceType: 'm5.large' });
  t.teardown(() => sims.close());
  const facts = await readNodeFacts(sims.imdsUrl);
  const primary = sims.model.eni(sims.instance.primaryEniId);
  t.is(facts.instanceId, sims.instance.id);
  t.is(facts.instanceType, 'm5.large');
  t.is(facts.region, sims.region);
  t.is(facts.primaryMac, primary.mac);
  t.is(facts.localIpv4, primary.privateIps[0]!.address);
  t.deepEqual(
    facts.enis.map((e) => e.interfaceId),
    sims.model.attachedTo(sims.instance.id).map((e) => e.id),
  );
  t.deepEqual(facts.enis[0]!.vpcCidrs, [...sims.model.vpcCidrs]);
  // One session token serves the whole burst of concurrent GETs.
  t.is(sims.audit.count({ service: 'imds', action: 'PUT /latest/api/token' }), 1);
});

test('a slow IMDS is retried, then reported unreachable with the endpoint and the cause', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  sims.faults.delayImds(300);
  const client = new ImdsClient({ endpoint: sims.imdsUrl, timeoutMs: 50, attempts: 2, backoffMs: 1 });
  const error = await t.throwsAsync(() => client.get('instance-id'), { instanceOf: ImdsError });
  t.is(error.kind, 'unreachable');
  t.true(error.message.startsWith(`IMDS unreachable at ${sims.imdsUrl}:`), error.message);
  t.regex(error.message, /failed 2 times \(last: no answer within 50 ms\)/);
});

test('a missing key is not_found (getOptional: undefined), not a retry', async (t) => {
  const sims = await startSimulators();
  t.teardown(() => sims.close());
  const client = new ImdsClient({ endpoint: sims.imdsUrl });
  const error = await t.throwsAsync(() => client.get('no/such/key'), { instanceOf: ImdsError });
  t.is(error.kind, 'not_found');
  t.is(await client.getOptional('no/such/key'), undefined);
});

test('nothing listening: unreachable, naming the endpoint', async (t) => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const error = await t.throwsAsync(() => readNodeFacts(new ImdsClient({ endpoint, attempts: 2, backoffMs: 1 })), {
    instanceOf: ImdsError,
  });
  t.is(error.kind, 'unreachable');
  t.regex(error.message, new RegExp(`^IMDS unreachable at ${endpoint}: .*ECONNREFUSED`));
});

test('readIpamNode: the agent learns instance, VPC, primary ENI and subnet from IMDS alone', async (t) => {
  const sims = await startSimulators({ instanceType: 't3.small' });
  t.teardown(() => sims.close());
  const node = await readIpamNode(new ImdsClient({ endpoint: sims.imdsUrl }));
  t.like(node, {
    vpcId: sims.model.vpcId,
    primaryEniId: sims.instance.primaryEniId,
    primarySubnetId: sims.instance.subnetId,
  });
  t.like(node.facts, { instanceId: sims.instance.id, instanceType: 't3.small', availabilityZone: sims.instance.zone });
});

test("the simulate harness learns its node over the simulator's IMDS, as the agent would", async (t) => {
  const sims = await startSimulators({ instanceType: 't3.small', throttle: false });
  t.teardown(() => sims.close());
  const before = sims.audit.count({ service: 'imds' });
  const node = await startNode({ instanceType: 't3.small', config: testConfig({}), sims });
  t.teardown(() => node.close());
  t.true(sims.audit.count({ service: 'imds' }) > before);
  t.true(
    sims.audit.count({
      service: 'imds',
      action: `GET /latest/meta-data/network/interfaces/macs/${sims.model.eni(sims.instance.primaryEniId).mac}/vpc-id`,
    }) >= 1,
  );
});
