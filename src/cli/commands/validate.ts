import { formatIssue } from '../../compiler/settings/index.ts';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';

export const validate: Command = {
  name: 'validate',
  help: `Usage: vpc-cni validate [--env-file FILE] [--configmap FILE] [--output text|json]

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
      for (const issue of [...errors, ...loaded.warnings]) io.stderr(`${formatIssue(issue)}\n`);
      const summary = loaded.ok
        ? `configuration is valid (${loaded.warnings.length} warning${loaded.warnings.length === 1 ? '' : 's'})`
        : `configuration is invalid: ${errors.length} error${errors.length === 1 ? '' : 's'}, ${loaded.warnings.length} warning${loaded.warnings.length === 1 ? '' : 's'}`;
      (loaded.ok ? io.stdout : io.stderr)(`${summary}\n`);
    }
    return loaded.ok ? 0 : 1;
  },
};
