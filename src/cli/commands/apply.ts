import { readFile } from 'node:fs/promises';
import { type ApplyResult, apply as applyPlan } from '../../apply/apply.ts';
import { ApplyError } from '../../apply/errors.ts';
import { renderChangesJson, renderChangesText } from '../../apply/render.ts';
import { currentNetns, namedNetns, Runner } from '../../apply/run.ts';
import { parseSavedPlan } from '../../apply/saved.ts';
import type { HostPlan } from '../../compiler/plan.ts';
import { type Command, type CommandInput, outputFormat, outputOption, UsageError } from '../command.ts';
import { hostPlanOptions, hostPlanOptionsHelp, InputError, prepareHostPlan } from '../host-plan.ts';

async function target(
  input: CommandInput,
): Promise<{ runner: Runner; plan: HostPlan; expected?: ApplyResult['changes'] }> {
  const [file, ...extra] = input.positionals;
  if (extra.length > 0)
    throw new UsageError(`expected at most one saved plan file, got ${input.positionals.join(' ')}`);
  if (file === undefined) {
    const { runner, plan } = await prepareHostPlan(input);
    return { runner, plan };
  }
  for (const flag of ['node', 'environment-file', 'configmap'] as const) {
    if (input.values[flag] !== undefined) throw new UsageError(`--${flag} cannot be used with a saved plan (${file})`);
  }
  const saved = parseSavedPlan(await readFile(file, 'utf8'), file);
  const netns = (input.values.netns as string | undefined) ?? saved.netns;
  if (input.values.netns !== undefined && saved.netns !== undefined && input.values.netns !== saved.netns) {
    throw new UsageError(`${file} was planned against namespace ${saved.netns}, not ${String(input.values.netns)}`);
  }
  return {
    runner: new Runner(netns === undefined ? currentNetns : namedNetns(netns)),
    plan: saved.plan,
    expected: saved.changes,
  };
}

export const apply: Command = {
  name: 'apply',
  help: `Usage: vpc-cni apply [--node FILE] [--environment-file FILE] [--configmap FILE] [--netns NAME] [--dry-run]
                     [--output text|json]
       vpc-cni apply FILE [--netns NAME] [--dry-run]     (a plan saved with \`vpc-cni plan --out FILE\`)

Computes the same changes as \`vpc-cni plan\` and writes them with a constant number of processes whatever their
number: direct /proc/sys writes, one \`ip -batch\` per address family, one \`iptables-restore --noflush\` per
family (one transaction per table), one \`nft -f\`. New routes and rules are added before old ones are removed,
so traffic always has a path. Then the live state is read again and must show nothing left to change.

If any step fails, the state read before the apply is restored (only what vpc-cni owns is touched) and the
command exits 1 naming the step, the failing batch line with three lines either side, and whether the rollback
succeeded. Invalid configuration or node facts: nothing is applied, exit 1 with every problem listed.

With a saved plan FILE, the changes are applied only if the live state still calls for exactly those changes
(the live objects they replace or remove are unchanged and nothing else drifted); otherwise nothing is written.

Flags:
${hostPlanOptionsHelp}
  --dry-run             show the changes and write nothing
  -o, --output FORMAT   text (default) or json: the changes, as \`plan --output json\`, plus "applied"

Progress goes to stderr. Exit codes: 0 applied (or nothing to do), 1 error (nothing changed or rolled back).
`,
  options: { ...hostPlanOptions, ...outputOption, 'dry-run': { type: 'boolean' } },
  allowPositionals: true,
  async run(input) {
    const { values, io } = input;
    const output = outputFormat(values);
    let resolved: Awaited<ReturnType<typeof target>>;
    try {
      resolved = await target(input);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.stderr(`vpc-cni apply: ${error.message}\n`);
      return 1;
    }
    let result: ApplyResult;
    try {
      result = await applyPlan(resolved.runner, resolved.plan, {
        dryRun: values['dry-run'] === true,
        ...(resolved.expected === undefined ? {} : { expected: resolved.expected }),
        progress: (message) => io.stderr(`${message}\n`),
      });
    } catch (error) {
      if (!(error instanceof ApplyError)) throw error;
      io.stderr(`vpc-cni apply: ${error.step} failed: ${error.message}\n`);
      return 1;
    }
    if (output === 'json') {
      const json = JSON.parse(renderChangesJson(result.changes)) as object;
      io.stdout(`${JSON.stringify({ applied: result.applied, ...json }, null, 2)}\n`);
    } else {
      io.stdout(renderChangesText(result.changes));
      if (result.applied) io.stdout('Applied and verified.\n');
      else if (values['dry-run'] === true && result.changes.length > 0) io.stdout('Dry run: nothing was written.\n');
    }
    return 0;
  },
};
