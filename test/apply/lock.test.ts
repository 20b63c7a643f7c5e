import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { LockTimeoutError, withApplyLock } from '../../src/apply/lock.ts';
import { currentNetns } from '../../src/apply/run.ts';

async function lockDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-lock-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Resolves when `fn` is called; its promise is released by `release()`. */
function gate() {
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((r) => {
    entered = r;
  });
  const done = new Promise<void>((r) => {
    release = r;
  });
  const fn = () => {
    entered();
    return done;
  };
  return { inside, release, fn };
}

test('two writers on one namespace never overlap', async (t) => {
  const dir = await lockDir(t);
  const events: string[] = [];
  const writer = (id: string) =>
    withApplyLock(
      currentNetns,
      async () => {
        events.push(`${id} in`);
        await new Promise((r) => setImmediate(r));
        events.push(`${id} out`);
      },
      { dir },
    );
  await Promise.all([writer('a'), writer('b'), writer('c')]);
  t.is(events.length, 6);
  for (let i = 0; i < events.length; i += 2) t.is(events[i]!.split(' ')[0], events[i + 1]!.split(' ')[0]);
});

test('a writer that cannot get the lock in time is told who holds it', async (t) => {
  const dir = await lockDir(t);
  const first = gate();
  const holding = withApplyLock(currentNetns, first.fn, { dir });
  await first.inside;
  const error = await t.throwsAsync(
    withApplyLock(currentNetns, async () => 'never', { dir, waitS: 0 }),
    {
      instanceOf: LockTimeoutError,
    },
  );
  t.regex(error.message, /current network namespace/);
  t.regex(error.holder ?? '', new RegExp(`^pid ${process.pid} `));
  first.release();
  await holding;
  t.is(await withApplyLock(currentNetns, async () => 'after', { dir, waitS: 0 }), 'after');
});

test('a nested call for the same namespace runs inside the held lock instead of waiting for itself', async (t) => {
  const dir = await lockDir(t);
  const value = await withApplyLock(
    currentNetns,
    () => withApplyLock(currentNetns, async () => 'nested', { dir, waitS: 0 }),
    { dir },
  );
  t.is(value, 'nested');
});

test('a holder killed with SIGKILL leaves no stale lock behind', async (t) => {
  const dir = await lockDir(t);
  const script = `
    const { withApplyLock } = await import(${JSON.stringify(new URL('../../src/apply/lock.ts', import.meta.url).href)});
    const { currentNetns } = await import(${JSON.stringify(new URL('../../src/apply/run.ts', import.meta.url).href)});
    await withApplyLock(currentNetns, async () => { process.stdout.write('held\\n'); await new Promise(() => {}); }, { dir: ${JSON.stringify(dir)} });
  `;
  const child = execa(process.execPath, ['--input-type=module', '-e', script], { reject: false });
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('held')) resolve();
    });
  });
  await t.throwsAsync(
    withApplyLock(currentNetns, async () => 'x', { dir, waitS: 0 }),
    {
      instanceOf: LockTimeoutError,
    },
  );
  child.kill('SIGKILL');
  await child;
  t.is(await withApplyLock(currentNetns, async () => 'taken', { dir, waitS: 10 }), 'taken');
});
