import { createServer } from 'node:net';
import test from 'ava';
import { main } from '../../src/cli/main.ts';

test('status, explain and doctor say clearly when there is no agent to ask (exit 1)', async (t) => {
  // A port nothing listens on: bound, then closed.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const args of [['status'], ['doctor'], ['explain', 'pod', 'default/x']]) {
    let stderr = '';
    const code = await main([...args, '--introspection', `127.0.0.1:${port}`], {
      stdout: () => {},
      stderr: (s) => {
        stderr += s;
      },
      env: {},
    });
    t.is(code, 1, args.join(' '));
    t.regex(
      stderr,
      /cannot reach the agent's introspection endpoint at http:\/\/127\.0\.0\.1:\d+: .*is `vpc-cni agent` running/,
    );
  }
});

test('explain takes `pod NAMESPACE/NAME`; a bad --introspection is a usage error', async (t) => {
  for (const args of [
    ['explain', 'web-0'],
    ['explain', 'pod', 'web-0'],
    ['status', '--introspection', 'nowhere'],
  ]) {
    let stderr = '';
    const code = await main(args, {
      stdout: () => {},
      stderr: (s) => {
        stderr += s;
      },
      env: {},
    });
    t.is(code, 1, args.join(' '));
    t.regex(stderr, /--help` for usage/, args.join(' '));
  }
});
