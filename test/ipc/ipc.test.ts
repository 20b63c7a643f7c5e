import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { call, IpcError } from '../../src/ipc/client.ts';
import { decode, encode, LineSplitter } from '../../src/ipc/codec.ts';
import { Assignment, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, Request } from '../../src/ipc/protocol.ts';
import { serve } from '../../src/ipc/server.ts';

const attachment = {
  containerId: 'abc123',
  netns: '/proc/42/ns/net',
  ifName: 'eth0',
  podNamespace: 'default',
  podName: 'web-1',
  infraContainerId: 'abc123',
  networkName: 'aws-cni',
};
const assignment = { address: '10.0.1.5', deviceNumber: 1, routeTable: 2, eniId: 'eni-1', vpcCidrs: ['10.0.0.0/16'] };

test('codec: a request round-trips through encode and decode', (t) => {
  const req = { v: PROTOCOL_VERSION, id: 7, op: 'ADD', attachment };
  const line = encode(req).toString('utf8');
  t.true(line.endsWith('\n'));
  t.deepEqual(decode(line.slice(0, -1), Request), { ok: true, value: req });
});

test('codec: another protocol version is named in the error', (t) => {
  const d = decode(JSON.stringify({ v: 99, id: 3, op: 'STATUS' }), Request);
  t.false(d.ok);
  if (!d.ok) {
    t.is(d.error.kind, 'VERSION_MISMATCH');
    t.regex(d.error.message, /99.*1/);
    t.is(d.id, 3);
  }
});

test('codec: escaping identifiers and unknown fields are malformed', (t) => {
  for (const bad of [
    { ...attachment, containerId: '../x' },
    { ...attachment, containerId: 'a;b' },
    { ...attachment, ifName: 'eth 0' },
    { ...attachment, netns: '/tmp/ns' },
    { ...attachment, netns: '/proc/1/../../etc' },
    { ...attachment, extra: 1 },
  ]) {
    const d = decode(JSON.stringify({ v: PROTOCOL_VERSION, id: 1, op: 'ADD', attachment: bad }), Request);
    t.false(d.ok, JSON.stringify(bad));
    if (!d.ok) t.is(d.error.kind, 'MALFORMED');
  }
  const notJson = decode('{', Request);
  t.false(notJson.ok);
});

test('protocol: an assignment carries a strict IPv4 address and VPC networks', (t) => {
  const rows = [
    { field: { address: '10.0.1.5' }, ok: true },
    { field: { address: '010.0.1.5' }, ok: false },
    { field: { address: '10.0.1.5.6' }, ok: false },
    { field: { address: '2600:1f14::1' }, ok: false },
    { field: { vpcCidrs: ['10.0.0.0/16', '100.64.0.0/10'] }, ok: true },
    { field: { vpcCidrs: ['999.0.0.0/8'] }, ok: false },
    { field: { vpcCidrs: ['10.0.0.1/16'] }, ok: false },
    { field: { vpcCidrs: ['1.2.3.4.5/24'] }, ok: false },
  ];
  for (const row of rows) {
    t.is(Assignment.safeParse({ ...assignment, ...row.field }).success, row.ok, JSON.stringify(row.field));
  }
});

test('codec: the splitter refuses a line longer than the limit before its newline', (t) => {
  const s = new LineSplitter();
  t.deepEqual(s.push(Buffer.from('{"a":1}\n{"b"')), ['{"a":1}']);
  t.deepEqual(s.push(Buffer.from(':2}\n')), ['{"b":2}']);
  t.is(new LineSplitter().push(Buffer.alloc(MAX_MESSAGE_BYTES, 0x20)), 'too-large');
});

async function withServer(t: { teardown(fn: () => Promise<void>): void }, opts: { connectionTimeoutMs?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ipc-'));
  const path = join(dir, 'agent.sock');
  const server = await serve(
    path,
    async (req) => {
      if (req.op === 'ADD') return { ok: true as const, op: 'ADD' as const, assignment };
      if (req.op === 'STATUS') {
        // An answer that takes longer than the request deadline, as an ADD waiting for an ENI does.
        await new Promise((resolve) => setTimeout(resolve, 2 * (opts.connectionTimeoutMs ?? 0)));
        return { ok: true as const, op: 'STATUS' as const, ready: true, message: 'ready' };
      }
      return {
        ok: false as const,
        error: {
          kind: 'NO_ADDRESS' as const,
          message: 'no address',
          shortage: { code: 'ENI_LIMIT' as const, enis: 3, maxEnis: 3, slotsUsed: 9, slots: 9 },
        },
      };
    },
    opts,
  );
  t.teardown(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  return path;
}

function rawExchange(path: string, data: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let out = '';
    sock.on('connect', () => sock.write(data));
    sock.on('data', (c) => {
      out += c.toString();
    });
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

test('socket: mode 0600, answers ADD and typed errors over a real Unix socket', async (t) => {
  const path = await withServer(t);
  t.is((await stat(path)).mode & 0o777, 0o600);
  const res = await call(path, { op: 'ADD', attachment });
  t.like(res, { ok: true, op: 'ADD', assignment });
  const err = await t.throwsAsync(call(path, { op: 'CHECK', attachment }), { instanceOf: IpcError });
  t.is(err?.kind, 'NO_ADDRESS');
  t.deepEqual(err?.wire?.shortage, { code: 'ENI_LIMIT', enis: 3, maxEnis: 3, slotsUsed: 9, slots: 9 });
});

test('socket: malformed, oversized and wrong-version clients are answered while others are served', async (t) => {
  const path = await withServer(t);
  const [garbage, huge, version, good] = await Promise.all([
    rawExchange(path, 'not json\n'),
    rawExchange(path, Buffer.alloc(MAX_MESSAGE_BYTES + 10, 0x41)),
    rawExchange(path, `${JSON.stringify({ v: 0, id: 5, op: 'STATUS' })}\n`),
    call(path, { op: 'STATUS' }),
  ]);
  t.like(JSON.parse(garbage), { ok: false, error: { kind: 'MALFORMED' } });
  t.like(JSON.parse(huge), { ok: false, error: { kind: 'TOO_LARGE' } });
  t.like(JSON.parse(version), { ok: false, id: 5, error: { kind: 'VERSION_MISMATCH', serverVersion: 1 } });
  t.like(good, { ok: true, op: 'STATUS', ready: true });
});

test('socket: a slow-loris client is cut off and does not block another', async (t) => {
  const path = await withServer(t, { connectionTimeoutMs: 200 });
  const slow = rawExchange(path, '{"v":1,');
  t.like(await call(path, { op: 'STATUS' }), { ok: true });
  t.like(JSON.parse(await slow), { ok: false, error: { kind: 'TIMEOUT' } });
});

test('client: a dead socket is UNREACHABLE with the path in the message', async (t) => {
  const err = await t.throwsAsync(call('/nonexistent/agent.sock', { op: 'STATUS' }), { instanceOf: IpcError });
  t.is(err?.kind, 'UNREACHABLE');
  t.regex(err?.message ?? '', /nonexistent\/agent.sock/);
});

test('socket: the request deadline bounds sending a request, not the answer to it', async (t) => {
  const path = await withServer(t, { connectionTimeoutMs: 200 });
  const res = await call(path, { op: 'STATUS' }, 5_000);
  t.like(res, { ok: true, op: 'STATUS', ready: true });
});

/** Holds the event loop as a starved process is held: no timer and no socket read runs meanwhile. */
function starve(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: the CPU is elsewhere
  }
}

test('socket: a request that arrived while the agent was starved past its deadline is served, not refused', async (t) => {
  const path = await withServer(t, { connectionTimeoutMs: 150 });
  // The client is another process, so its request lands while this one (the agent) cannot run: it connects, says so,
  // and writes 100 ms later; the agent starves for 500 ms from the moment it hears, well past the 150 ms deadline.
  const request = encode({ op: 'STATUS', v: PROTOCOL_VERSION, id: 7 }).toString();
  const client = spawn(
    process.execPath,
    [
      '-e',
      `const s = require('node:net').connect(${JSON.stringify(path)}, () => setTimeout(() => process.stdout.write('connected\\n'), 20));
       let reply = '';
       s.on('data', (c) => { reply += c; });
       s.on('error', (e) => { reply += ' ' + e.message; });
       s.on('close', () => process.stderr.write(reply));
       setTimeout(() => s.write(${JSON.stringify(request)}), 120);`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let reply = '';
  client.stderr.on('data', (c: Buffer) => {
    reply += c.toString();
  });
  client.stdout.once('data', () => setImmediate(() => starve(500)));
  await new Promise((resolve) => client.on('close', resolve));
  t.regex(reply, /"ok":true/, reply);
  t.regex(reply, /"id":7/);
});

test('socket: a refusal the agent could not attribute (id 0) reaches the caller in its own words', async (t) => {
  const path = await withServer(t, { connectionTimeoutMs: 100 });
  // A client that connects and says nothing is refused at the deadline; a caller sees why, not an id mismatch.
  const sock = connect(path);
  const reply = await new Promise<string>((resolve) => {
    let text = '';
    sock.on('data', (c: Buffer) => {
      text += c.toString();
    });
    sock.on('close', () => resolve(text));
  });
  t.regex(reply, /"id":0.*no complete request within 100 ms/);
});
