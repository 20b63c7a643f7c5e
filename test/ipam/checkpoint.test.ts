import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import {
  CheckpointError,
  MAX_CHECKPOINT_BYTES,
  parseCheckpoint,
  readCheckpoint,
  renderCheckpoint,
  setAside,
  writeCheckpoint,
} from '../../src/ipam/checkpoint.ts';
import { Datastore } from '../../src/ipam/datastore.ts';
import { AddressPool } from '../../src/ipam/pool.ts';

// A checkpoint exactly as aws-node writes it (reference §4.3), nanosecond timestamp beyond 2^53 included.
const awsNode =
  '{"version":"vpc-cni-ipam/1","allocations":[{"networkName":"aws-cni","containerID":"4f2ae9","ifName":"eth0",' +
  '"ipv4":"10.0.12.34","allocationTimestamp":1718000000123456789,"metadata":{"k8sPodNamespace":"default",' +
  '"k8sPodName":"web-7d9c","interfacesCount":1}}]}\n';

async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-ipam-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('reads an aws-node checkpoint and writes it back byte for byte', (t) => {
  const entries = parseCheckpoint('ipam.json', awsNode);
  t.deepEqual(entries, [
    {
      owner: { networkName: 'aws-cni', containerId: '4f2ae9', ifName: 'eth0' },
      ip: '10.0.12.34',
      metadata: { k8sPodNamespace: 'default', k8sPodName: 'web-7d9c', interfacesCount: 1 },
      assignedAtNs: 1718000000123456789n,
    },
  ]);
  t.is(renderCheckpoint(entries), awsNode);
});

test('an unknown version is refused with a clear error', (t) => {
  const error = t.throws(() => parseCheckpoint('/x/ipam.json', '{"version":"vpc-cni-ipam/2","allocations":[]}'), {
    instanceOf: CheckpointError,
  });
  t.is(error.kind, 'unknown_version');
  t.is(error.message, 'checkpoint /x/ipam.json: version "vpc-cni-ipam/2" is not "vpc-cni-ipam/1"');
});

test('corrupt checkpoints are refused and say what is wrong', (t) => {
  const bad = [
    ['{"version":"vpc-cni-ipam/1","alloc', /not valid JSON/],
    ['{"version":"vpc-cni-ipam/1","allocations":{}}', /allocations: must be a list/],
    ['{"version":"vpc-cni-ipam/1","allocations":[{"ipv4":"10.0.0.1"}]}', /allocations\[0\]\.networkName is required/],
    ['{"version":"vpc-cni-ipam/1","allocations":[null]}', /allocations\[0\] = null: must be an object/],
  ] as const;
  for (const [content, message] of bad) {
    const error = t.throws(() => parseCheckpoint('ipam.json', content), { instanceOf: CheckpointError });
    t.is(error.kind, 'corrupt');
    t.regex(error.message, message);
  }
});

test('a missing checkpoint is a fresh node', async (t) => {
  const dir = await tempDir(t);
  t.deepEqual(await readCheckpoint(join(dir, 'ipam.json')), []);
});

test('writes are atomic: no temp file is left and the result reads back', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ipam.json');
  await writeFile(path, awsNode);
  const entries = parseCheckpoint(path, awsNode);
  await writeCheckpoint(path, [...entries, { ...entries[0]!, ip: '10.0.12.35', assignedAtNs: 1n }]);
  t.deepEqual(await readdir(dir), ['ipam.json']);
  t.is((await readCheckpoint(path)).length, 2);
});

test('a refused checkpoint is set aside, never deleted', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ipam.json');
  await writeFile(path, 'garbage');
  const aside = await setAside(path, 42);
  t.is(aside, `${path}.refused-42`);
  t.is(await readFile(aside, 'utf8'), 'garbage');
});

test('the pool persists every change and undoes an assignment whose write fails', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ipam.json');
  const ds = new Datastore(0);
  ds.addEni({ id: 'eni-0', deviceNumber: 0, primary: true, subnetId: 's', primaryIp: '10.0.0.5' }, 0);
  ds.addCidr('eni-0', '10.0.0.10/32', false);
  const pool = new AddressPool(ds, path);
  const owner = { networkName: 'aws-cni', containerId: 'c1', ifName: 'eth0' };
  await pool.assign(owner, { k8sPodName: 'a' }, 1);
  t.deepEqual(
    (await readCheckpoint(path)).map((e) => e.ip),
    ['10.0.0.10'],
  );
  await pool.release(owner, 2);
  t.deepEqual(await readCheckpoint(path), []);

  const broken = new AddressPool(ds, join(dir, 'missing-dir', 'ipam.json'));
  await t.throwsAsync(broken.assign(owner, {}, 3), { message: /checkpoint write failed, assignment undone/ });
  t.deepEqual(ds.leases(), []);
});

test('a null allocation, wrong types and oversized fields are refused as corrupt, naming the field', (t) => {
  const doc = (allocations: unknown) => JSON.stringify({ version: 'vpc-cni-ipam/1', allocations });
  const entry = { networkName: 'aws-cni', containerID: 'c1', ifName: 'eth0', ipv4: '10.0.0.1' };
  const bad = [
    { content: doc([null]), field: /allocations\[0\]/ },
    { content: doc([{ ...entry, ipv4: '010.0.0.1' }]), field: /allocations\[0\]\.ipv4/ },
    { content: doc([{ ...entry, ifName: 'x'.repeat(16) }]), field: /allocations\[0\]\.ifName/ },
    { content: doc([{ ...entry, allocationTimestamp: -1 }]), field: /allocationTimestamp/ },
    { content: doc([{ ...entry, metadata: null }]), field: /metadata/ },
    { content: doc(Array.from({ length: 4097 }, () => entry)), field: /allocations/ },
    { content: '[]', field: /not a JSON object/ },
    { content: 'null', field: /not a JSON object/ },
  ];
  for (const { content, field } of bad) {
    const error = t.throws(() => parseCheckpoint('ipam.json', content), { instanceOf: CheckpointError });
    t.is(error.kind, 'corrupt', content.slice(0, 80));
    t.regex(error.message, field);
  }
});

test('arbitrary bytes and arbitrary JSON never throw anything but CheckpointError', (t) => {
  const parseOrRefuse = (content: string): boolean => {
    try {
      parseCheckpoint('ipam.json', content);
      return true;
    } catch (error) {
      return error instanceof CheckpointError;
    }
  };
  const entry = fc.record(
    {
      networkName: fc.oneof(fc.string(), fc.anything()),
      containerID: fc.oneof(fc.string(), fc.anything()),
      ifName: fc.oneof(fc.constantFrom('eth0', 'eth1'), fc.anything()),
      ipv4: fc.oneof(fc.ipV4(), fc.string(), fc.anything()),
      allocationTimestamp: fc.oneof(fc.bigInt(), fc.double(), fc.anything()),
      metadata: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const documents = fc.record(
    {
      version: fc.oneof(fc.constant('vpc-cni-ipam/1'), fc.anything()),
      allocations: fc.oneof(fc.array(fc.oneof(entry, fc.anything())), fc.anything()),
    },
    { requiredKeys: [] },
  );
  const json = documents.map((d) =>
    JSON.stringify(d, (_key, value) => (typeof value === 'bigint' ? `@ns:${value}` : value)).replace(
      /"@ns:(-?\d+)"/g,
      '$1',
    ),
  );
  fc.assert(
    fc.property(
      fc.oneof(
        json,
        fc.json(),
        fc.string(),
        fc.uint8Array().map((b) => Buffer.from(b).toString('utf8')),
      ),
      parseOrRefuse,
    ),
    {
      numRuns: 2000,
    },
  );
  t.pass();
});

test('a checkpoint that is not a regular file, or too large, is refused without reading it whole', async (t) => {
  const dir = await tempDir(t);
  const big = join(dir, 'big.json');
  await writeFile(big, Buffer.alloc(MAX_CHECKPOINT_BYTES + 1, 0x20));
  t.is((await t.throwsAsync(readCheckpoint(big), { instanceOf: CheckpointError })).kind, 'corrupt');
  t.regex(
    (await t.throwsAsync(readCheckpoint('/dev/zero'), { instanceOf: CheckpointError })).message,
    /not a regular file/,
  );
  t.regex((await t.throwsAsync(readCheckpoint(dir), { instanceOf: CheckpointError })).message, /not a regular file/);
});
