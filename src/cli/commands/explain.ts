import { ExplainReply } from '../../agent/replies.ts';
import { askAgent, introspectionAddress, introspectionHelp, introspectionOption } from '../agent-client.ts';
import { type Command, outputFormat, outputOption, UsageError } from '../command.ts';

/** PURE: a pod's wiring as people read it. */
export function formatExplain(e: ExplainReply): string {
  const lines = [`pod ${e.namespace}/${e.name}`];
  for (const i of e.interfaces) {
    const table = i.routeTable === 'main' ? 'the main table' : `route table ${i.routeTable}`;
    lines.push(
      `  ${i.ifName}: ${i.ip} on ENI ${i.eniId} (device ${i.deviceNumber}), ${table}, host veth ${i.hostVeth}`,
      `  container ${i.containerId}, assigned ${i.assignedAt}`,
      '  route and rules:',
      ...(i.planned.length === 0
        ? ['    (none planned: no ENI on the node holds this address)']
        : i.planned.map((p) => `    ${p}`)),
      '  SNAT path:',
      ...i.snat.map((s) => `    ${s}`),
      i.kernelMatches
        ? '  kernel: matches the plan'
        : `  kernel: DIFFERS from the plan (${i.differences.length}); the agent's next sync or drift repair would change:`,
      ...i.differences.map((d) => `    ${d}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

export const explain: Command = {
  name: 'explain',
  help: `Usage: vpc-cni explain pod NAMESPACE/NAME [--introspection ADDR] [--output text|json]

Explains one pod's networking on this node, as the agent sees it: its address, the ENI that holds it and that ENI's
route table, the pod's route and ip rules, the SNAT path of its traffic (to the VPC, to excluded CIDRs, elsewhere),
and whether the kernel has exactly that now (the agent compiles the host plan and diffs it with the live state).

Flags:
${introspectionHelp}
  -o, --output FORMAT   text (default) or json

Exit codes: 0 the kernel matches, 2 it differs, 1 the pod has no address here, the agent cannot be reached or bad
arguments.
`,
  options: { ...introspectionOption, ...outputOption },
  allowPositionals: true,
  async run({ values, positionals, io }) {
    const output = outputFormat(values);
    const [what, ref, ...extra] = positionals;
    if (what !== 'pod' || ref === undefined || extra.length > 0)
      throw new UsageError('expected `explain pod NAMESPACE/NAME`');
    if (!ref.includes('/')) throw new UsageError(`"${ref.slice(0, 80)}" is not NAMESPACE/NAME`);
    const answer = await askAgent(
      introspectionAddress(values, io.env),
      `/v1/explain?pod=${encodeURIComponent(ref)}`,
      ExplainReply,
    );
    if (!answer.ok) {
      io.stderr(`vpc-cni explain: ${answer.error}\n`);
      return 1;
    }
    io.stdout(output === 'json' ? `${JSON.stringify(answer.reply, null, 2)}\n` : formatExplain(answer.reply));
    return answer.reply.interfaces.every((i) => i.kernelMatches) ? 0 : 2;
  },
};
