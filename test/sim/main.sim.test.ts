import test from 'ava';
import { execa } from 'execa';

test('npm run sim prints one JSON line with the three endpoints and serves until killed', async (t) => {
  const child = execa(
    'node_modules/.bin/node',
    ['src/sim/main.ts', '--profile', 'fast', '--instance-type', 't3.medium'],
    { reject: false },
  );
  t.teardown(() => child.kill());
  const line = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString())),
  );
  const ready = JSON.parse(line) as Record<string, string>;
  t.is(ready.instanceType, 't3.medium');
  for (const key of ['ec2', 'imds', 'kubernetes']) t.regex(ready[key]!, /^http:\/\/127\.0\.0\.1:\d+$/);
  const version = (await (await fetch(`${ready.kubernetes}/version`)).json()) as { major: string };
  t.is(version.major, '1');
  child.kill('SIGTERM');
  t.is((await child).exitCode, 0);
});

test('npm run sim refuses an unknown instance type with a message naming it', async (t) => {
  const result = await execa('node_modules/.bin/node', ['src/sim/main.ts', '--instance-type', 'm5.huge'], {
    reject: false,
  });
  t.is(result.exitCode, 1);
  t.regex(result.stderr, /unknown instance type 'm5\.huge'/);
});
