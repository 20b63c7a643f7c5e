import { writeFile } from 'node:fs/promises';
import { diff } from '../../apply/diff.ts';
import { renderChangesJson, renderChangesText } from '../../apply/render.ts';
import { savePlan } from '../../apply/saved.ts';
import { type Command, outputFormat, outputOption, UsageError } from '../command.ts';
import { hostPlanOptions, hostPlanOptionsHelp, InputError, prepareHostPlan, readLiveState } from '../host-plan.ts';

export const plan: Command = {
  name: 'plan',
  help: `Usage: vpc-cni plan [--node FILE] [--environment-file FILE] [--configmap FILE] [--netns NAME]
                    [--output text|json] [--detailed-exitcode] [--out FILE] [--offline]

Compiles the host network plan from the configuration and the node facts (IMDS, or a snapshot with --node),
reads the live kernel state once (ip -json, iptables-save, nft list ruleset, /proc/sys) and prints the changes
that would make the node match the plan, grouped by kind:

  + added     ~ changed     - removed (owned by vpc-cni, e.g. left behind by an older config)

each with its reason (the config key or node fact behind it, or what differs), then a summary line. Only state
carrying vpc-cni's markers is ever removed (its ip rule priorities and route tables, AWS-* chains and comments,
the ip aws-cni nft table, its sysctls); kube-proxy's chains and foreign rules and tables never appear.
A node configured by aws-node with the same settings plans no changes.

The first stderr line names the node planned for and the namespace planned against. A live state that cannot be
read (not root, a mistyped --netns) is an error, exit 1: nothing is planned against a node nobody observed. Planning
without the kernel is explicit: \`vpc-cni plan --offline --node examples/nodes/... --configmap examples/configs/...\`
works anywhere and shows every object as added. As root, a --node snapshot of another node is refused for this
host's own namespace (see --allow-foreign-node).

Flags:
${hostPlanOptionsHelp}
  -o, --output FORMAT   text (default) or json: {"summary": {add, change, remove}, "changes": [...]}
  --detailed-exitcode   exit 0 when there is nothing to change, 2 when there are changes, 1 on error
  --offline             do not read the kernel: plan against an empty node (no root needed; not with --out)
  --out FILE            save the plan and its changes; \`vpc-cni apply FILE\` applies exactly these changes and
                        refuses if the live state no longer matches them

Exit codes: 0 success (with --detailed-exitcode: no changes), 2 changes (--detailed-exitcode only), 1 error.
`,
  options: {
    ...hostPlanOptions,
    ...outputOption,
    'detailed-exitcode': { type: 'boolean' },
    out: { type: 'string' },
    offline: { type: 'boolean' },
  },
  async run(input) {
    const { values, io } = input;
    const output = outputFormat(values);
    const offline = values.offline === true;
    if (offline && values.out !== undefined)
      throw new UsageError('--out cannot save an offline plan: its changes were not diffed against the node');
    let changes: ReturnType<typeof diff>;
    let prepared: Awaited<ReturnType<typeof prepareHostPlan>>;
    try {
      prepared = await prepareHostPlan(input, { offline });
      changes = diff(prepared.plan, await readLiveState(prepared, offline));
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      io.stderr(`vpc-cni plan: ${error.message}\n`);
      return 1;
    }
    io.stdout(output === 'json' ? renderChangesJson(changes) : renderChangesText(changes));
    const out = values.out as string | undefined;
    if (out !== undefined) {
      await writeFile(out, savePlan(prepared.plan, changes, values.netns as string | undefined));
      io.stderr(`saved the plan to ${out}; apply it with: vpc-cni apply ${out}\n`);
    }
    return values['detailed-exitcode'] === true && changes.length > 0 ? 2 : 0;
  },
};
