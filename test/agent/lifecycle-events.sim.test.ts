/**
 * What the agent's core tells its bus, against the EC2 simulator through the real SDK: each ADD and DEL with its pod,
 * latency and typed shortage (the handlers), and each EC2 attempt with its action, latency and error code (the client).
 */
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import test from 'ava';
import type { AgentEvent } from '../../src/agent/bus.ts';
import { createHandler } from '../../src/agent/handlers.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { startNode } from '../../src/harness/simulate.ts';
import { Ec2Api, type Ec2Call } from '../../src/ipam/cloud/client.ts';
import { realClock } from '../../src/ipam/cloud/rate.ts';
import type { Attachment } from '../../src/ipc/protocol.ts';
import { startSimulators } from '../../src/sim/index.ts';

function attachment(n: number, pod = true): Attachment {
  return {
    containerId: `c${String(n).padStart(12, '0')}`,
    netns: '/var/run/netns/test',
    ifName: 'eth0',
    podNamespace: pod ? 'shop' : '',
    podName: pod ? `cart-${n}` : '',
    infraContainerId: '',
    networkName: 'aws-cni',
  };
}

test('ADD and DEL publish the pod, the latency and the typed shortage', async (t) => {
  // One ENI of a t3.medium: 5 secondary addresses, then ENI_LIMIT.
  const node = await startNode({
    instanceType: 't3.medium',
    config: testConfig({ MAX_ENI: '1', WARM_IP_TARGET: '5' }),
  });
  t.teardown(() => node.close());
  await node.engine.step();
  const events: AgentEvent[] = [];
  const handler = createHandler({
    engine: node.engine,
    vpcCidrs: () => [],
    vethPrefix: 'eni',
    addWaitMs: 0,
    status: () => ({ ready: true, message: 'serving' }),
    eniReady: async () => {},
    publish: (e) => events.push(e),
  });
  for (let n = 0; n < 6; n++) await handler({ v: 1, id: n, op: 'ADD', attachment: attachment(n) });
  await handler({ v: 1, id: 9, op: 'DEL', attachment: attachment(0), reason: '' });
  await handler({ v: 1, id: 10, op: 'DEL', attachment: attachment(7, false), reason: '' });

  t.deepEqual(
    events.map((e) => [e.kind, 'pod' in e ? e.pod?.name : undefined, 'ok' in e ? e.ok : undefined]),
    [
      ['add', 'cart-0', true],
      ['add', 'cart-1', true],
      ['add', 'cart-2', true],
      ['add', 'cart-3', true],
      ['add', 'cart-4', true],
      ['add', 'cart-5', false],
      ['del', 'cart-0', true],
      ['del', undefined, true],
    ],
  );
  const refused = events[5]!;
  t.like(refused, {
    kind: 'add',
    pod: { namespace: 'shop', name: 'cart-5' },
    shortage: { code: 'ENI_LIMIT', enis: 1 },
  });
  for (const e of events) t.true('ms' in e && e.ms >= 0);
});

test('the EC2 client reports every attempt: action, latency, and the error code of a failed one', async (t) => {
  const sims = await startSimulators({ instanceType: 't3.medium', throttle: false });
  t.teardown(() => sims.close());
  const calls: Ec2Call[] = [];
  const api = new Ec2Api({
    endpoint: sims.ec2Url,
    region: 'us-west-2',
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
    bucket: { ratePerSecond: 100, burst: 100 },
    backoff: { baseMs: 1, maxMs: 5 },
    maxAttempts: 3,
    clock: realClock,
    onCall: (call) => calls.push(call),
  });
  t.teardown(() => api.close());
  sims.faults.failNth('DescribeNetworkInterfaces', 1);
  await api.send(new DescribeNetworkInterfacesCommand({}));
  t.deepEqual(
    calls.map((c) => [c.action, c.error]),
    [
      ['DescribeNetworkInterfaces', 'InternalError'],
      ['DescribeNetworkInterfaces', undefined],
    ],
  );
  for (const c of calls) t.true(c.ms >= 0);
});

test('an EC2 that never answers fails the call at the request timeout instead of holding its caller', async (t) => {
  const sims = await startSimulators({ instanceType: 't3.medium', throttle: false });
  t.teardown(() => sims.close());
  const calls: Ec2Call[] = [];
  const api = new Ec2Api({
    endpoint: sims.ec2Url,
    region: 'us-west-2',
    credentials: { accessKeyId: 'sim', secretAccessKey: 'sim' },
    bucket: { ratePerSecond: 100, burst: 100 },
    backoff: { baseMs: 1, maxMs: 5 },
    maxAttempts: 1,
    clock: realClock,
    requestTimeoutMs: 300,
    onCall: (call) => calls.push(call),
  });
  t.teardown(() => api.close());
  sims.faults.holdEc2();
  t.teardown(() => sims.faults.releaseEc2());
  await t.throwsAsync(api.send(new DescribeNetworkInterfacesCommand({})), { message: /DescribeNetworkInterfaces/ });
  t.is(sims.faults.ec2Held, 1, 'the simulator still holds the request the client gave up on');
  t.deepEqual(
    calls.map((c) => c.action),
    ['DescribeNetworkInterfaces'],
  );
  t.truthy(calls[0]?.error);
});
