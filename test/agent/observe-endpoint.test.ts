import { lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { execa } from 'execa';
import { type BindAddress, json, keepListening, listen } from '../../src/agent/endpoint.ts';

function call(bind: BindAddress, method: string, path: string): Promise<{ status: number; body: string }> {
  if (bind.kind !== 'tcp') throw new Error('tcp only');
  return new Promise((resolve, reject) => {
    const req = request({ host: bind.host, port: bind.port, path, method }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a listener answers GET through its handler, refuses other methods, and turns a throw into a 500', async (t) => {
  const listener = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, (path, query) => {
    if (path === '/boom') throw new Error('broken handler');
    return json({ path, pod: query.get('pod') });
  });
  t.teardown(() => listener.close());
  t.deepEqual(JSON.parse((await call(listener.address, 'GET', '/v1/explain?pod=a%2Fb')).body), {
    path: '/v1/explain',
    pod: 'a/b',
  });
  t.is((await call(listener.address, 'POST', '/v1/status')).status, 405);
  t.deepEqual(await call(listener.address, 'GET', '/boom'), { status: 500, body: 'internal error: broken handler\n' });
  t.is((await call(listener.address, 'GET', `/${'x'.repeat(3000)}`)).status, 414);
});

test('a taken port does not fail the caller: the listener says so and binds once the port is free', async (t) => {
  const first = await listen({ kind: 'tcp', host: '127.0.0.1', port: 0 }, () => json('first'));
  const errors: string[] = [];
  let bound: (address: BindAddress) => void = () => {};
  const listening = new Promise<BindAddress>((resolve) => {
    bound = resolve;
  });
  const kept = await keepListening(first.address, () => json('second'), {
    onError: (message) => errors.push(message),
    onListening: (address) => bound(address),
  });
  t.teardown(() => kept.stop());
  t.is(errors.length, 1);
  t.regex(errors[0]!, /^cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*; retrying in 1 s$/);
  await first.close();
  const address = await listening;
  t.is((await call(address, 'GET', '/')).body, '"second"\n');
});

test('on a unix socket, one left by a killed agent is replaced; a regular file there is not', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'vc-endpoint-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bind = { kind: 'unix' as const, path: join(dir, 'introspection.sock') };
  const first = await listen(bind, () => json('first'));
  // Closing a server removes its socket; a process that dies leaves it, as python's bind-and-exit does here.
  await first.close();
  await execa('/usr/bin/python3', [
    '-c',
    'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
    bind.path,
  ]);
  t.true((await lstat(bind.path)).isSocket(), 'the dead socket is still there');
  const second = await listen(bind, () => json('second'));
  t.teardown(() => second.close());
  t.true((await lstat(bind.path)).isSocket());
  const file = { kind: 'unix' as const, path: join(dir, 'not-a-socket') };
  await writeFile(file.path, 'data');
  await t.throwsAsync(
    listen(file, () => json('x')),
    { code: 'EADDRINUSE' },
  );
  t.is(await readFile(file.path, 'utf8'), 'data');
});
