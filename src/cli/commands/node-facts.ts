import { writeFile } from 'node:fs/promises';
import { Runner } from '../../apply/run.ts';
import { IptablesMode, type NodeFacts } from '../../compiler/facts.ts';
import { IMDS_ENDPOINT_VARIABLE, ImdsClient, imdsEndpoint, readNodeFacts } from '../../ipam/cloud/imds.ts';
import { counted } from '../../lib/counted.ts';
import { detectIptablesMode, listLinks, withInterfaceNames } from '../../node/host-facts.ts';
import { type Command, outputFormat, outputOption, UsageError } from '../command.ts';

function summary(facts: NodeFacts): string {
  const rows = facts.enis.map(
    (e) =>
      `  ${(e.interfaceName ?? '?').padEnd(10)} ${e.mac}  card ${e.networkCard} device ${e.deviceNumber}  ${e.interfaceId}  ` +
      `${e.subnetCidr}  ${e.localIpv4s.length} IPv4, ${counted(e.ipv4Prefixes.length, 'prefix', 'prefixes')}, ${e.ipv6s.length} IPv6`,
  );
  return [
    `${facts.instanceId} (${facts.instanceType}) in ${facts.availabilityZone}, primary ${facts.primaryMac} ${facts.localIpv4}`,
    `iptables: ${facts.iptablesMode}`,
    ...rows,
    '',
  ].join('\n');
}

export const nodeFacts: Command = {
  name: 'node-facts',
  help: `Usage: vpc-cni node-facts [--imds URL] [--out FILE] [--iptables-mode nf_tables|legacy] [--no-resolve]
                          [--output text|json]

Reads the instance and every attached ENI from the EC2 instance metadata service (IMDSv2), finds each ENI's Linux
interface name by its MAC (\`ip -json link\`) and the iptables backend (\`iptables --version\`), and writes the node
snapshot that \`vpc-cni plan --node FILE\` reads (schema: schema/node.schema.json).

Flags:
  --imds URL              IMDS endpoint (default: $${IMDS_ENDPOINT_VARIABLE}, else http://169.254.169.254)
  --out FILE              write the snapshot (JSON) to FILE
  --iptables-mode MODE    nf_tables or legacy instead of detecting it from \`iptables --version\`
  --no-resolve            do not look up interface names (for a snapshot taken off the node)
  -o, --output FORMAT     text (default: a summary) or json (the snapshot on stdout)

Exit codes: 0 written, 1 IMDS unreachable or invalid, an ENI without a Linux interface, or bad flags.
`,
  options: {
    imds: { type: 'string' },
    out: { type: 'string' },
    'iptables-mode': { type: 'string' },
    'no-resolve': { type: 'boolean', default: false },
    ...outputOption,
  },
  async run({ values, io }) {
    const format = outputFormat(values);
    const mode = values['iptables-mode'];
    if (mode !== undefined && !IptablesMode.safeParse(mode).success) {
      throw new UsageError(`--iptables-mode must be nf_tables or legacy, got ${JSON.stringify(mode)}`);
    }
    const endpoint = typeof values.imds === 'string' ? values.imds : imdsEndpoint(io.env);
    let facts = await readNodeFacts(new ImdsClient({ endpoint }));
    const runner = new Runner();
    facts = {
      ...facts,
      iptablesMode: mode === undefined ? await detectIptablesMode(runner) : IptablesMode.parse(mode),
    };
    if (values['no-resolve'] !== true) {
      const named = withInterfaceNames(facts, await listLinks(runner));
      facts = named.facts;
      for (const eni of named.unresolved) {
        io.stderr(`vpc-cni node-facts: no interface has the MAC ${eni.mac} of ${eni.interfaceId} (yet)\n`);
      }
      if (named.unresolved.length > 0) return 1;
    }
    const json = `${JSON.stringify(facts, null, 2)}\n`;
    if (typeof values.out === 'string') await writeFile(values.out, json);
    io.stdout(format === 'json' ? json : summary(facts));
    return 0;
  },
};
