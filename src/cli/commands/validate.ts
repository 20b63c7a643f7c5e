import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { counted } from '../../lib/counted.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';
import { reportConfigIssues } from '../config-issues.ts';

export const validate: Command = {
  name: 'validate',
  help: `Usage: vpc-cni validate [--environment-file FILE] [--configmap FILE] [--output text|json]

Checks every Amazon VPC CNI setting against the schema (schema/config.cue): types, ranges, enums, CIDR lists,
JSON tags, and the rules that span settings (IPv4 xor IPv6, IPv6 needs prefix delegation, ...). All problems are
reported in one run, one per line on stderr, each naming the key, the bad value, where it came from and what is
allowed. Settings that the Amazon VPC CNI would silently ignore or override are reported as warnings.

Flags:
${configOptionsHelp}
  -o, --output FORMAT text (default) or json: {"valid", "errors": [...], "warnings": [...]} on stdout

Exit codes: 0 valid (warnings allowed), 1 invalid.
`,
  options: { ...configOptions, ...outputOption },
  async run({ values, io }) {
    const output = outputFormat(values);
    const loaded = await loadConfigFromFlags(values, io.env);
    const errors = loaded.ok ? [] : loaded.errors;
    if (output === 'json') {
      io.stdout(`${JSON.stringify({ valid: loaded.ok, errors, warnings: loaded.warnings }, null, 2)}\n`);
    } else {
      if (reportConfigIssues(loaded, io))
        io.stdout(`configuration is valid (${counted(loaded.warnings.length, 'warning')})\n`);
    }
    return loaded.ok ? 0 : 1;
  },
};
