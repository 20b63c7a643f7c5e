/**
 * The engine against the EC2 simulator through the real SDK: bursts converge to the targets, injected faults and
 * throttling at every EC2 step leak no ENI and never hand an address out twice, and restarts keep every assignment.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { testConfig } from '../../src/compiler/settings/index.ts';
import { addPod, cycle, podOwner, type SimNode, settle, startNode } from '../../src/harness/simulate.ts';
import { readCheckpoint } from '../../src/ipam/checkpoint.ts';
import { realClock } from '../../src/ipam/cloud/rate.ts';
import { RECOVERED_NETWORK } from '../../src/ipam/datastore.ts';
import { ipv4CidrAddresses } from '../../src/lib/address.ts';
import { EC2_BUCKETS, type InjectedError, RESOURCES } from '../../src/sim/index.ts';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-ipam-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** No address held by two owners, every held address on an ENI EC2 attaches to this instance, and no ENI leaked. */
function assertConsistent(t: ExecutionContext, node: SimNode): void {
  const leases = node.engine.store.leases();
  t.is(new Set(leases.map((l) => l.ip)).size, leases.length, 'no address handed out twice');
  const attached = [...node.sims.model.enis.values()].filter((e) => e.attachment?.instanceId === node.sims.instance.id);
  const inEc2 = new Set(
    attached.flatMap((e) => [
      ...e.privateIps.filter((ip) => !ip.primary).map((ip) => ip.address),
      ...e.prefixes.flatMap((p) => ipv4CidrAddresses(p)),
    ]),
  );
  for (const lease of leases) t.true(inEc2.has(lease.ip), `${lease.ip} is assigned in EC2`);
  t.deepEqual(
    node.sims.model.unattachedEnis().map((e) => e.id),
    [],
    'no leaked ENI',
  );
}

/**
 * Checks the simulator's audit log against what the pool held: records, at each checkpoint, the audit position and the
 * leased addresses; no UnassignPrivateIpAddresses may name an address leased both just before and just after it (an
 * address taken from EC2 under a live pod, so EC2 could hand it to someone else).
 */
class LeaseHistory {
  readonly #points: Array<{ readonly mark: number; readonly leased: ReadonlySet<string> }> = [];
  readonly #node: SimNode;
  constructor(node: SimNode) {
    this.#node = node;
  }
  record(): void {
    this.#points.push({
      mark: this.#node.sims.audit.mark(),
      leased: new Set(this.#node.engine.store.leases().map((l) => l.ip)),
    });
  }
  /** Addresses unassigned in EC2 while leased; must be empty. */
  violations(): string[] {
    const out: string[] = [];
    for (const entry of this.#node.sims.audit.entries({ service: 'ec2', action: 'UnassignPrivateIpAddresses' })) {
      if (entry.outcome !== 'ok') continue;
      const before = this.#points.filter((p) => p.mark < entry.seq).at(-1);
      const after = this.#points.find((p) => p.mark >= entry.seq);
      const ips = Object.entries(entry.params)
        .filter(([k]) => k.startsWith('PrivateIpAddress'))
        .map(([, v]) => v);
      for (const ip of ips) if (before?.leased.has(ip) && after?.leased.has(ip)) out.push(`${ip} at #${entry.seq}`);
    }
    return out;
  }
  unassignCalls(): number {
    return this.#node.sims.audit.count({ service: 'ec2', action: 'UnassignPrivateIpAddresses', outcome: 'ok' });
  }
}

test('a burst 0→9→0 on t3.small converges to the targets and frees the extra ENIs', async (t) => {
  const node = await startNode({
    instanceType: 't3.small',
    config: testConfig({ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '1', IP_COOLDOWN_PERIOD: '30' }),
  });
  t.teardown(() => node.close());
  await settle(node);
  const history = new LeaseHistory(node);
  for (let n = 1; n <= 9; n++) {
    t.is(await addPod(node, n), undefined);
    history.record();
  }
  t.is(node.sims.model.enis.size, 3);
  for (let n = 1; n <= 9; n++) {
    await node.engine.release(podOwner(n));
    history.record();
  }
  await settle(node);
  history.record();
  const snapshot = node.engine.snapshot();
  t.is(snapshot.enis.length, 1, 'only the primary ENI is left');
  const free = snapshot.enis.flatMap((e) => e.cidrs).filter((c) => c.assigned === 0 && c.cooling === 0).length;
  t.is(free, 1, 'WARM_IP_TARGET=1 free address kept');
  assertConsistent(t, node);
  t.deepEqual(history.violations(), []);
});

test('cooling addresses never block growth (ipamd #2896): the pool grows instead of waiting', async (t) => {
  const node = await startNode({
    instanceType: 'm5.large',
    config: testConfig({ WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '2', IP_COOLDOWN_PERIOD: '600' }),
  });
  t.teardown(() => node.close());
  await settle(node);
  for (let n = 1; n <= 2; n++) t.is(await addPod(node, n), undefined);
  for (let n = 1; n <= 2; n++) await node.engine.release(podOwner(n));
  // Both freed addresses cool for 10 minutes; new pods must still get addresses within a few cycles.
  for (let n = 3; n <= 4; n++) t.is(await addPod(node, n, 3), undefined);
  assertConsistent(t, node);
});

test('the surge policy serves a burst of waiting pods in fewer cycles than the reference policy', async (t) => {
  const cyclesFor = async (mode: 'reference' | 'surge'): Promise<number> => {
    const node = await startNode({ instanceType: 'm5.4xlarge', config: testConfig({ WARM_IP_TARGET: '2' }), mode });
    t.teardown(() => node.close());
    await settle(node);
    const pending = new Set(Array.from({ length: 60 }, (_, i) => i + 1));
    let cycles = 0;
    while (pending.size > 0 && cycles < 50) {
      for (const n of [...pending]) if ((await node.engine.assign(podOwner(n))).ok) pending.delete(n);
      if (pending.size > 0) {
        await cycle(node);
        cycles++;
      }
    }
    t.is(pending.size, 0);
    assertConsistent(t, node);
    return cycles;
  };
  const reference = await cyclesFor('reference');
  const surge = await cyclesFor('surge');
  t.true(surge < reference, `surge ${surge} cycles < reference ${reference}`);
});

const FAULTS: Array<[string, InjectedError]> = [
  ['DescribeSubnets', { code: 'UnauthorizedOperation', status: 403 }],
  ['CreateNetworkInterface', { code: 'InternalError', status: 500 }],
  ['AttachNetworkInterface', { code: 'InvalidParameterValue', status: 400 }],
  ['ModifyNetworkInterfaceAttribute', { code: 'UnauthorizedOperation', status: 403 }],
  ['AssignPrivateIpAddresses', { code: 'InsufficientFreeAddressesInSubnet', status: 400 }],
  ['DescribeNetworkInterfaces', { code: 'UnauthorizedOperation', status: 403 }],
  ['UnassignPrivateIpAddresses', { code: 'UnauthorizedOperation', status: 403 }],
  ['DetachNetworkInterface', { code: 'UnauthorizedOperation', status: 403 }],
  ['DeleteNetworkInterface', { code: 'UnauthorizedOperation', status: 403 }],
];

const churnWithFaults = test.macro(async (t: ExecutionContext, action: string, error: InjectedError) => {
  const node = await startNode({
    instanceType: 't3.small',
    config: testConfig({ WARM_IP_TARGET: '1', IP_COOLDOWN_PERIOD: '0' }),
  });
  t.teardown(() => node.close());
  await settle(node);
  // Each step of the lifecycle fails twice: once on the way up, once on the way down.
  node.sims.faults.failNth(action, 1, error);
  node.sims.faults.failNth(action, 3, error);
  const history = new LeaseHistory(node);
  for (let n = 1; n <= 9; n++) {
    t.is(await addPod(node, n, 60), undefined, `pod ${n} placed despite ${action} failing`);
    assertConsistent(t, node);
    history.record();
  }
  // Half the pods go, the pool shrinks under the others, then the rest go.
  for (let n = 1; n <= 4; n++) await node.engine.release(podOwner(n));
  history.record();
  await settle(node);
  history.record();
  assertConsistent(t, node);
  for (let n = 5; n <= 9; n++) await node.engine.release(podOwner(n));
  history.record();
  await settle(node);
  await settle(node);
  history.record();
  t.deepEqual(history.violations(), [], 'no address unassigned in EC2 while a pod held it');
  t.true(history.unassignCalls() > 0 || action === 'UnassignPrivateIpAddresses');
  assertConsistent(t, node);
  t.is(node.engine.snapshot().enis.length, 1, 'extra ENIs freed in the end');
  t.is(node.allocator.pendingDeletes.size, 0, 'no delete left pending');
});
for (const [action, error] of FAULTS) {
  test(`${action} failing with ${error.code} leaks nothing and double-assigns nothing`, churnWithFaults, action, error);
}

test('EC2 throttling is absorbed by backoff and reported as EC2_THROTTLED while it lasts', async (t) => {
  const node = await startNode({
    instanceType: 't3.small',
    config: testConfig({ WARM_IP_TARGET: '1' }),
    // The simulator's buckets refill in real time, so retries back off on the real clock here.
    sim: { throttle: { ...EC2_BUCKETS, mutating: { burst: 1, ratePerSecond: 5 } } },
    retryClock: realClock,
  });
  t.teardown(() => node.close());
  await settle(node);
  for (let n = 1; n <= 9; n++) t.is(await addPod(node, n, 60), undefined);
  t.true(node.sims.audit.count({ service: 'ec2', outcome: 'RequestLimitExceeded' }) > 0, 'the simulator throttled');
  t.true(node.api.counts.throttled > 0);
  assertConsistent(t, node);
});

test('a restart from the checkpoint keeps every assignment', async (t) => {
  const dir = await tempDir(t);
  const checkpointPath = join(dir, 'ipam.json');
  const config = testConfig({ WARM_IP_TARGET: '2' });
  const first = await startNode({ instanceType: 'm5.large', config, checkpointPath });
  t.teardown(() => first.close());
  await settle(first);
  for (let n = 1; n <= 12; n++) t.is(await addPod(first, n), undefined);
  const before = first.engine.store.leases().map((l) => `${l.owner.containerId}=${l.ip}`);
  // A second engine on the same node (same simulators, same file): the agent restarted.
  const second = await startNode({ instanceType: 'm5.large', config, checkpointPath, sims: first.sims });
  const after = second.engine.store.leases().map((l) => `${l.owner.containerId}=${l.ip}`);
  t.deepEqual(after.sort(), before.sort());
  t.is((await readCheckpoint(checkpointPath)).length, 12);
  // Idempotent ADD after restart: the same owner gets the same address.
  const again = await second.engine.assign(podOwner(3));
  t.true(again.ok);
  t.is(again.ok ? again.lease.ip : '', first.engine.store.leaseOf(podOwner(3))?.ip ?? 'missing');
});

test('a corrupt checkpoint is refused, kept aside, and owners are recovered from EC2 and kernel routes', async (t) => {
  const dir = await tempDir(t);
  const checkpointPath = join(dir, 'ipam.json');
  const config = testConfig({ WARM_IP_TARGET: '2' });
  const first = await startNode({ instanceType: 'm5.large', config, checkpointPath });
  t.teardown(() => first.close());
  await settle(first);
  for (let n = 1; n <= 5; n++) t.is(await addPod(first, n), undefined);
  const held = first.engine.store.leases().map((l) => l.ip);
  await writeFile(checkpointPath, '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":');

  await t.throwsAsync(startNode({ instanceType: 'm5.large', config, checkpointPath, sims: first.sims }), {
    message: /not valid JSON.*refusing to start without a kernel route source/,
  });

  const routes = held.map((ip, i) => ({ ip, dev: `eni${i}abcdef01234` }));
  const second = await startNode({
    instanceType: 'm5.large',
    config,
    checkpointPath,
    sims: first.sims,
    podRoutes: async () => routes,
  });
  t.deepEqual(
    second.engine.store
      .leases()
      .map((l) => l.ip)
      .sort(),
    [...held].sort(),
  );
  t.true(second.engine.store.leases().every((l) => l.owner.networkName === RECOVERED_NETWORK));
  t.true(
    second.engine.events.recent().some((e) => e.kind === 'checkpoint-refused' && /not valid JSON/.test(e.message)),
  );
  t.true(
    (await readdir(dir)).some((f) => f.startsWith('ipam.json.refused-')),
    'the bad file is kept',
  );
  // A new pod never gets a recovered address, and the DEL of a recovered pod (matched by address) frees it.
  const fresh = await second.engine.assign(podOwner(100));
  t.true(fresh.ok && !held.includes(fresh.lease.ip));
  t.is((await second.engine.release(podOwner(1), held[0]!))?.ip, held[0]);
});

test('an address EC2 stops listing is quarantined while its pod lives, never handed to another pod', async (t) => {
  const node = await startNode({ instanceType: 'm5.large', config: testConfig({ WARM_IP_TARGET: '1' }) });
  t.teardown(() => node.close());
  await settle(node);
  t.is(await addPod(node, 1), undefined);
  const lease = node.engine.store.leaseOf(podOwner(1))!;
  // Someone else unassigns the pod's address behind our back.
  node.sims.model.unassignPrivateIps(lease.eniId, [lease.ip], []);
  await node.engine.reconcileNow();
  t.is(node.engine.quarantined, 1);
  t.is(node.engine.metrics().ipam_quarantined_addresses, 1, 'exported as a metric');
  t.is(node.engine.store.leaseOf(podOwner(1))?.ip, lease.ip, 'the owner keeps its address');
  for (let n = 2; n <= 6; n++) t.is(await addPod(node, n), undefined);
  t.false(
    node.engine.store
      .leases()
      .filter((l) => l.owner.containerId !== podOwner(1).containerId)
      .some((l) => l.ip === lease.ip),
  );
  await node.engine.release(podOwner(1));
  t.is(node.engine.quarantined, 0, 'the quarantine ends with the owner');
});

test('addresses IMDS does not show yet are held back as IMDS_SYNC_PENDING, then used once the bound passes', async (t) => {
  const node = await startNode({
    instanceType: 'm5.large',
    config: testConfig({ WARM_IP_TARGET: '1' }),
    // IMDS lags EC2 by far more than the test runs in real time.
    sim: { profileOverrides: { imdsPropagationMs: 60_000 } },
  });
  t.teardown(() => node.close());
  await cycle(node);
  const first = await node.engine.assign(podOwner(1));
  t.false(first.ok);
  t.like(first.ok ? {} : first.reason, { code: 'IMDS_SYNC_PENDING' });
  t.is(await addPod(node, 1), undefined, 'placed once the IMDS wait is over');
  t.true(node.engine.events.recent().some((e) => /IMDS still lacks addresses/.test(e.message)));
  assertConsistent(t, node);
});

test('prefix delegation falls back to single addresses on InsufficientCidrBlocks, and says so', async (t) => {
  const node = await startNode({
    instanceType: 'm5.large',
    config: testConfig({ ENABLE_PREFIX_DELEGATION: 'true', WARM_PREFIX_TARGET: '1' }),
  });
  t.teardown(() => node.close());
  node.sims.faults.failNth('AssignPrivateIpAddresses', 1, { code: 'InsufficientCidrBlocks', status: 400 });
  await settle(node);
  t.is(await addPod(node, 1), undefined);
  t.true(node.engine.events.recent().some((e) => e.kind === 'prefix-fallback'));
  const cidrs = node.engine.snapshot().enis.flatMap((e) => e.cidrs);
  t.true(cidrs.length > 0 && cidrs.every((c) => !c.prefix), 'grew with /32s while /28s were unavailable');
  assertConsistent(t, node);
});

test('the leaked-ENI sweep deletes old available ENIs of ours and stamps untagged ones', async (t) => {
  const node = await startNode({ instanceType: 'm5.large', config: testConfig({ CLUSTER_NAME: 'prod' }) });
  t.teardown(() => node.close());
  // Detached ENIs as a crashed agent (or someone else) leaves them: no attachment, tags telling whose they are.
  const detachedEni = (description: string, extraTags: Record<string, string> = {}) =>
    node.sims.model.createEni({
      subnetId: node.sims.instance.subnetId,
      description,
      groups: [],
      secondaryCount: 0,
      prefixCount: 0,
      ipv6Count: 0,
      tags: new Map(
        Object.entries({
          'node.k8s.amazonaws.com/instance_id': node.sims.instance.id,
          'cluster.k8s.amazonaws.com/name': 'prod',
          ...extraTags,
        }),
      ),
    });
  const ours = `aws-K8S-${node.sims.instance.id}`;
  const mine = detachedEni(ours, {
    'node.k8s.amazonaws.com/createdAt': new Date(node.clock.now() - 10 * 60_000).toISOString(),
  });
  const young = detachedEni(ours);
  const foreign = detachedEni('someone else');
  t.deepEqual(await node.allocator.sweepLeaked(node.clock.now()), [mine.id]);
  t.false(node.sims.model.enis.has(mine.id));
  t.true(node.sims.model.enis.get(young.id)?.tags.has('node.k8s.amazonaws.com/createdAt'), 'untagged ENI stamped');
  t.true(node.sims.model.enis.has(foreign.id), 'not our description: left alone');
});

test('custom networking puts new ENIs in the ENIConfig subnet with its groups, never growing the primary', async (t) => {
  const node = await startNode({
    instanceType: 'm5.large',
    config: testConfig({
      AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true',
      ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone',
      WARM_IP_TARGET: '2',
    }),
  });
  t.teardown(() => node.close());
  await settle(node);
  for (let n = 1; n <= 3; n++) t.is(await addPod(node, n), undefined);
  const eniConfig = node.sims.kubernetes
    .list(RESOURCES.find((r) => r.plural === 'eniconfigs')!, undefined)
    .find((o) => o.metadata.name === node.sims.instance.zone) as unknown as {
    spec: { subnet: string; securityGroups: string[] };
  };
  const secondary = [...node.sims.model.enis.values()].filter(
    (e) => e.attachment?.instanceId === node.sims.instance.id && e.id !== node.sims.instance.primaryEniId,
  );
  t.is(secondary.length, 1);
  t.is(secondary[0]!.subnetId, eniConfig.spec.subnet);
  t.deepEqual(secondary[0]!.groups, eniConfig.spec.securityGroups);
  t.is(node.sims.model.eni(node.sims.instance.primaryEniId).privateIps.length, 1, 'primary ENI not grown');
  t.true(node.engine.store.leases().every((l) => l.eniId === secondary[0]!.id));
  assertConsistent(t, node);
});

test('new ENIs carry the reference tags, our description and DeleteOnTermination', async (t) => {
  const node = await startNode({
    instanceType: 't3.small',
    config: testConfig({ CLUSTER_NAME: 'prod', ADDITIONAL_ENI_TAGS: '{"team":"net"}' }),
  });
  t.teardown(() => node.close());
  await settle(node);
  for (let n = 1; n <= 4; n++) t.is(await addPod(node, n), undefined);
  const eni = [...node.sims.model.enis.values()].find((e) => e.attachment?.deviceIndex === 1)!;
  t.is(eni.description, `aws-K8S-${node.sims.instance.id}`);
  t.true(eni.attachment!.deleteOnTermination);
  t.like(Object.fromEntries(eni.tags), {
    'node.k8s.amazonaws.com/instance_id': node.sims.instance.id,
    'cluster.k8s.amazonaws.com/name': 'prod',
    'eks:eni:owner': 'amazon-vpc-cni',
    team: 'net',
  });
  t.false(Number.isNaN(Date.parse(eni.tags.get('node.k8s.amazonaws.com/createdAt') ?? '')));
  // Subnet discovery: the tagged pod subnet (most free addresses) rather than the node's own.
  t.not(eni.subnetId, node.sims.instance.subnetId);
});

test('the engine runs the leaked-ENI sweep hourly', async (t) => {
  const node = await startNode({ instanceType: 'm5.large', config: testConfig({ WARM_IP_TARGET: '1' }) });
  t.teardown(() => node.close());
  await cycle(node);
  const leaked = node.sims.model.createEni({
    subnetId: node.sims.instance.subnetId,
    description: `aws-K8S-${node.sims.instance.id}`,
    groups: [],
    secondaryCount: 0,
    prefixCount: 0,
    ipv6Count: 0,
    tags: new Map([
      ['node.k8s.amazonaws.com/instance_id', node.sims.instance.id],
      ['node.k8s.amazonaws.com/createdAt', new Date(node.clock.now()).toISOString()],
    ]),
  });
  await cycle(node);
  t.true(node.sims.model.enis.has(leaked.id), 'not before the hour');
  node.clock.advance(3_600_000);
  await cycle(node);
  t.false(node.sims.model.enis.has(leaked.id));
  assertConsistent(t, node);
});

test('a checkpoint of {"allocations":[null]} is refused, set aside, and the engine recovers from kernel routes', async (t) => {
  const dir = await tempDir(t);
  const checkpointPath = join(dir, 'ipam.json');
  await writeFile(checkpointPath, '{"version":"vpc-cni-ipam/1","allocations":[null]}');
  const node = await startNode({
    instanceType: 'm5.large',
    config: testConfig({ WARM_IP_TARGET: '2' }),
    checkpointPath,
    podRoutes: async () => [],
  });
  t.teardown(() => node.close());
  t.true(
    node.engine.events.recent().some((e) => e.kind === 'checkpoint-refused' && /allocations\[0\]/.test(e.message)),
  );
  t.true((await readdir(dir)).some((f) => f.startsWith('ipam.json.refused-')));
  t.deepEqual(await readCheckpoint(checkpointPath), []);
});

test('50 concurrent ADDs on an empty pool wait while ENIs attach, and no address is handed out twice', async (t) => {
  const node = await startNode({ instanceType: 'm5.xlarge', config: testConfig({ WARM_IP_TARGET: '1' }) });
  t.teardown(() => node.close());
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, n) =>
      node.engine.assign(podOwner(n), { k8sPodName: `pod-${n}` }, { waitMs: 600_000, stepEveryMs: 5_000 }),
    ),
  );
  const failed = results.flatMap((r) => (r.ok ? [] : [r.reason.code]));
  t.deepEqual(failed, []);
  const ips = results.flatMap((r) => (r.ok ? [r.lease.ip] : []));
  t.is(new Set(ips).size, 50, 'fifty distinct addresses');
  t.is(node.engine.store.leases().length, 50);
  assertConsistent(t, node);
});

test('an ADD with a wait still answers at once when the node is full (ENI_LIMIT)', async (t) => {
  const node = await startNode({ instanceType: 't3.nano', config: testConfig({ WARM_IP_TARGET: '1' }) });
  t.teardown(() => node.close());
  let n = 0;
  for (;;) {
    const r = await node.engine.assign(podOwner(n++), {}, { waitMs: 600_000, stepEveryMs: 5_000 });
    if (!r.ok) {
      t.is(r.reason.code, 'ENI_LIMIT');
      break;
    }
    t.true(n < 100, 'the node fills up');
  }
  t.is(node.engine.store.leases().length, n - 1);
});
