import { DoctorReply } from '../../agent/replies.ts';
import { askAgent, introspectionAddress, introspectionHelp, introspectionOption } from '../agent-client.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';

/** PURE: the findings first (errors before warnings), each with its fix, then what was checked. */
export function formatDoctor(d: DoctorReply): string {
  const findings = d.findings.toSorted((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const lines =
    findings.length === 0
      ? ['No findings.']
      : findings.flatMap((f) => [`${f.severity.toUpperCase()} [${f.check}] ${f.problem}`, `  fix: ${f.fix}`]);
  lines.push('', 'checks:');
  const width = Math.max(...d.checks.map((c) => c.check.length));
  for (const c of d.checks) lines.push(`  ${c.check.padEnd(width)}  ${c.status.padEnd(8)}  ${c.detail}`);
  return `${lines.join('\n')}\n`;
}

export const doctor: Command = {
  name: 'doctor',
  help: `Usage: vpc-cni doctor [--introspection ADDR] [--output text|json]

Has the agent check this node for what breaks pod networking, and prints each finding with its fix:
  rp_filter          strict reverse-path filtering on the primary interface (or something that keeps resetting it)
  mtu                ENI links off AWS_VPC_ENI_MTU, pod veths off POD_MTU
  iptables-backend   the agent's iptables backend (legacy / nf_tables) against the node's, rules left in the other
  imds-vs-ec2        ENIs or addresses IMDS and EC2 disagree on
  subnet-headroom    subnets of the node's ENIs nearly out of addresses
  max-pods           a max-pods the node's ENIs cannot hold
  leaked-enis        detached ENIs created for this instance
A check whose input cannot be read (no EC2 access yet, a tool missing) is listed as skipped with the reason.

Flags:
${introspectionHelp}
  -o, --output FORMAT   text (default) or json

Exit codes: 0 no findings, 2 findings, 1 the agent cannot be reached or bad flags.
`,
  options: { ...introspectionOption, ...outputOption },
  async run({ values, io }) {
    const output = outputFormat(values);
    const answer = await askAgent(introspectionAddress(values, io.env), '/v1/doctor', DoctorReply);
    if (!answer.ok) {
      io.stderr(`vpc-cni doctor: the agent answered ${answer.status}: ${answer.error}\n`);
      return 1;
    }
    io.stdout(output === 'json' ? `${JSON.stringify(answer.reply, null, 2)}\n` : formatDoctor(answer.reply));
    return answer.reply.findings.length === 0 ? 0 : 2;
  },
};
