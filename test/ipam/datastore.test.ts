import test from 'ava';
import { Datastore, type Owner, RECOVERED_NETWORK } from '../../src/ipam/datastore.ts';

const pod = (n: number): Owner => ({ networkName: 'aws-cni', containerId: `c${n}`, ifName: 'eth0' });
const primary = { id: 'eni-0', deviceNumber: 0, primary: true, subnetId: 'subnet-a', primaryIp: '10.0.0.5' };
const second = { id: 'eni-1', deviceNumber: 1, primary: false, subnetId: 'subnet-a', primaryIp: '10.0.0.6' };

function store(cooldownMs = 30_000): Datastore {
  const ds = new Datastore(cooldownMs);
  ds.addEni(second, 0);
  ds.addEni(primary, 0);
  for (const ip of ['10.0.0.10', '10.0.0.11', '10.0.0.12']) ds.addCidr('eni-0', `${ip}/32`, false);
  ds.addCidr('eni-1', '10.0.1.16/28', true);
  return ds;
}

test('assign is idempotent per owner', (t) => {
  const ds = store();
  const a = ds.assign(pod(1), {}, 1000);
  const b = ds.assign(pod(1), {}, 2000);
  t.is(a?.ip, '10.0.0.10');
  t.deepEqual(b, a);
  t.is(ds.leases().length, 1);
});

test('unassign is idempotent and starts the cooldown', (t) => {
  const ds = store();
  ds.assign(pod(1), {}, 0);
  t.is(ds.unassign(pod(1), 1000)?.ip, '10.0.0.10');
  t.is(ds.unassign(pod(1), 1000), undefined);
  t.is(ds.nextFreeInMs(1000), 30_000);
  const snap = ds.snapshot(1000, {
    pendingPods: 0,
    msSinceLastDecrease: 0,
    prefixFallback: false,
    cordoned: false,
    expectedPods: 0,
  });
  const cidr = snap.enis.find((e) => e.id === 'eni-0')!.cidrs[0]!;
  t.like(cidr, { cidr: '10.0.0.10/32', assigned: 0, cooling: 1 });
});

test('a cooling address is never handed out; the least recently freed is reused first', (t) => {
  const ds = store(30_000);
  for (let i = 1; i <= 3; i++) ds.assign(pod(i), {}, 0);
  ds.unassign(pod(2), 1000); // .11 freed first
  ds.unassign(pod(1), 2000); // .10 freed later
  // Inside the cooldown the /32s are skipped and the pod goes to the prefix on the next ENI.
  t.is(ds.assign(pod(4), {}, 5000)?.ip, '10.0.1.16');
  // After it, the least recently freed /32 (.11) comes back before .10.
  t.is(ds.assign(pod(5), {}, 40_000)?.ip, '10.0.0.11');
  t.is(ds.assign(pod(6), {}, 40_000)?.ip, '10.0.0.10');
});

test('prefixes fill from the network address, lowest device first', (t) => {
  const ds = new Datastore(0);
  ds.addEni(primary, 0);
  ds.addCidr('eni-0', '10.0.2.0/28', true);
  ds.addCidr('eni-0', '10.0.2.16/28', true);
  const ips = Array.from({ length: 17 }, (_, i) => ds.assign(pod(i), {}, 0)?.ip);
  t.is(ips[0], '10.0.2.0');
  t.is(ips[15], '10.0.2.15');
  t.is(ips[16], '10.0.2.16');
});

test('no free address → undefined, nothing changes', (t) => {
  const ds = new Datastore(0);
  ds.addEni(primary, 0);
  t.is(ds.assign(pod(1), {}, 0), undefined);
  t.deepEqual(ds.leases(), []);
});

test('a CIDR or ENI with an owner is not removed', (t) => {
  const ds = store();
  ds.assign(pod(1), {}, 0);
  t.false(ds.removeCidr('eni-0', '10.0.0.10/32'));
  t.false(ds.removeEni('eni-0'));
  t.true(ds.removeCidr('eni-0', '10.0.0.11/32'));
  t.true(ds.removeEni('eni-1'));
});

test('a quarantined CIDR keeps its owner but offers nothing new', (t) => {
  const ds = new Datastore(0);
  ds.addEni(primary, 0);
  ds.addCidr('eni-0', '10.0.2.0/28', true);
  ds.assign(pod(1), {}, 0);
  ds.quarantineCidr('eni-0', '10.0.2.0/28', 10);
  t.is(ds.assign(pod(2), {}, 20), undefined);
  const snap = ds.snapshot(20, {
    pendingPods: 0,
    msSinceLastDecrease: 0,
    prefixFallback: false,
    cordoned: false,
    expectedPods: 0,
  });
  t.like(snap.enis[0]!.cidrs[0], { size: 1, assigned: 1, quarantined: 1 });
  ds.addCidr('eni-0', '10.0.2.0/28', true); // EC2 lists it again
  t.is(ds.assign(pod(2), {}, 30)?.ip, '10.0.2.1');
});

test('place restores an owner at its address and refuses conflicts', (t) => {
  const ds = store();
  const entry = { owner: pod(7), ip: '10.0.1.20', metadata: { k8sPodName: 'web' }, assignedAtNs: 5n };
  t.is(ds.place(entry), 'placed');
  t.is(ds.place(entry), 'placed');
  t.is(ds.place({ ...entry, owner: pod(8) }), 'taken');
  t.is(ds.place({ ...entry, ip: '192.168.0.1' }), 'outside');
  t.like(ds.leaseOf(pod(7)), { eniId: 'eni-1', deviceNumber: 1, cidr: '10.0.1.16/28', assignedAtNs: 5n });
});

test('an owner recovered without a checkpoint is released by the DEL for its address', (t) => {
  const ds = store();
  const recovered: Owner = { networkName: RECOVERED_NETWORK, containerId: 'route:eni1234', ifName: 'eth0' };
  ds.place({ owner: recovered, ip: '10.0.0.11', metadata: {}, assignedAtNs: 0n });
  t.is(ds.unassign(pod(9), 1000, '10.0.0.11')?.owner.networkName, RECOVERED_NETWORK);
  t.deepEqual(ds.leases(), []);
});

test('forget undoes an assignment without a cooldown', (t) => {
  const ds = store();
  ds.assign(pod(1), {}, 0);
  ds.forget(pod(1));
  t.is(ds.nextFreeInMs(0), undefined);
  t.is(ds.assign(pod(2), {}, 0)?.ip, '10.0.0.10');
});
