/**
 * A failure at each batch step of an apply, on the real kernel, ends in the exact prior state or in an error naming
 * what differs. Faults are injected by a Runner that fails its Nth write (every command the kernel runs is real):
 * either before the batch runs, or after it ran and changed the kernel, as when a tool dies after committing.
 */
import { apply } from '../../src/apply/apply.ts';
import { ApplyError } from '../../src/apply/errors.ts';
import { CommandError, namedNetns, Runner, type RunOptions, type RunResult } from '../../src/apply/run.ts';
import { kernelTest as kernel } from '../helpers/needs.ts';
import { handPlan } from './fixtures.ts';
import { handNode, kernelSnapshot } from './kernel-node.ts';

type Mode = 'before' | 'after';

/** Fails write number `failAt` (1-based) and, with `thenAll`, every write after it: the rollback's too. */
class FaultyRunner extends Runner {
  readonly writes: string[] = [];
  readonly #failAt: number;
  readonly #mode: Mode;
  readonly #thenAll: boolean;

  constructor(name: string, failAt: number, mode: Mode, thenAll = false) {
    super(namedNetns(name));
    this.#failAt = failAt;
    this.#mode = mode;
    this.#thenAll = thenAll;
  }

  override async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    // Writes are the batches fed on stdin and `sysctl -w`; reads never take input.
    const isWrite = options.input !== undefined || args.includes('-w');
    if (!isWrite) return super.run(file, args, options);
    this.writes.push(args.find((a) => /^(ip|sysctl|iptables-restore|ip6tables-restore|nft)$/.test(a)) ?? file);
    const n = this.writes.length;
    const fails = n === this.#failAt || (this.#thenAll && n > this.#failAt);
    if (!fails) return super.run(file, args, options);
    if (this.#mode === 'after') await super.run(file, args, options);
    throw new CommandError({ stdout: '', stderr: `injected fault at write ${n}`, exitCode: 1, command: file });
  }
}

kernel('a failure injected at each batch step, before or after the batch ran, is rolled back exactly', async (t) => {
  const plan = handPlan();
  // How many batches a clean apply runs, and which: the steps to break.
  const probe = await handNode(t, 'rbprobe');
  const counting = new FaultyRunner(probe.ns.name, Number.POSITIVE_INFINITY, 'before');
  await apply(counting, plan);
  const steps = counting.writes;
  t.deepEqual(steps, ['sysctl', 'ip', 'iptables-restore', 'nft'], 'the batches of the hand plan');
  for (const [index, step] of steps.entries()) {
    for (const mode of ['before', 'after'] as const) {
      const what = `write ${index + 1} (${step}) failing ${mode} it ran`;
      const { ns } = await handNode(t, 'rb');
      const before = await kernelSnapshot(ns, plan);
      const runner = new FaultyRunner(ns.name, index + 1, mode);
      const error = await t.throwsAsync(apply(runner, plan), { instanceOf: ApplyError }, what);
      t.true(error?.rollback?.ok, `${what}: ${error?.message}`);
      t.regex(error?.message ?? '', /rolled back: re-read, the namespace is as it was before the apply/, what);
      t.deepEqual(await kernelSnapshot(ns, plan), before, what);
    }
  }
});

kernel('a rollback that cannot complete says exactly what differs, and claims no success', async (t) => {
  const plan = handPlan();
  const { ns } = await handNode(t, 'rbfail');
  // The ip batch runs and then "fails"; every later write fails too, so the rollback cannot undo it.
  const runner = new FaultyRunner(ns.name, 2, 'after', true);
  const error = await t.throwsAsync(apply(runner, plan), { instanceOf: ApplyError });
  t.false(error.rollback?.ok);
  t.notRegex(error.message, /rolled back:/);
  t.regex(error.message, /ROLLBACK INCOMPLETE, the namespace differs from its state before the apply/);
  // The rollback's sysctl write (write 3) restored rp_filter and then "failed"; its ip batch never ran.
  t.regex(error.message, /the rollback failed: sysctl batch failed: .*injected fault at write 3/);
  const differs = error.rollback?.differs ?? [];
  const all = differs.join('\n');
  t.true(differs.includes('rule 1536: from 10.0.2.21/32 lookup 2: present now, absent before the apply'), all);
  t.true(
    differs.some((l) => /^route 0\.0\.0\.0\/0 via 10\.0\.2\.1 dev eth1 table 2: present now/.test(l)),
    all,
  );
  t.true(
    differs.some((l) => /^link eth0 .*: changed since before the apply \(now → before: mtu 9001 → 1500\)/.test(l)),
    all,
  );
  // Only what the kernel shows: not the sysctl put back, not the batches that never ran.
  t.false(
    differs.some((l) => /sysctl|AWS-SNAT|aws-cni/.test(l)),
    all,
  );
  // Once the fault is gone, a rollback from the same captured state would find exactly these; an apply converges.
  await apply(new Runner(namedNetns(ns.name)), plan);
  t.pass();
});

kernel('a verify that fails (a writer racing the apply) is rolled back exactly too', async (t) => {
  const plan = handPlan();
  const { ns } = await handNode(t, 'rbverify');
  const before = await kernelSnapshot(ns, plan);
  // After the last batch (nft), someone deletes one of the rules just written: every verify attempt sees it missing.
  class RacedRunner extends Runner {
    raced = false;
    override async run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
      const result = await super.run(file, args, options);
      if (!this.raced && args.includes('nft') && options.input !== undefined) {
        this.raced = true;
        await ns.ip(['rule', 'del', 'pref', '1536']);
      }
      return result;
    }
  }
  const error = await t.throwsAsync(apply(new RacedRunner(namedNetns(ns.name)), plan), { instanceOf: ApplyError });
  t.is(error.step, 'verify');
  t.regex(error.message, /rule 1536/);
  t.true(error.rollback?.ok, error.message);
  t.deepEqual(await kernelSnapshot(ns, plan), before);
});
