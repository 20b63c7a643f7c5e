import { describeSource } from '../../compiler/settings/index.ts';
import { configOptions, configOptionsHelp, loadConfigFromFlags } from '../../config/load.ts';
import { type Command, outputFormat, outputOption } from '../command.ts';
import { reportConfigIssues } from '../config-issues.ts';

function display(value: unknown): string {
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (Array.isArray(value)) return value.length === 0 ? '[]' : value.join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

export const config: Command = {
  name: 'config',
  help: `Usage: vpc-cni config [--environment-file FILE] [--configmap FILE] [--changed] [--output text|json]

Prints every setting with its effective value and its provenance: default, derived (follows another setting),
ConfigMap, env file (with line) or environment.

Flags:
${configOptionsHelp}
  --changed           only the settings that are not at their default
  -o, --output FORMAT text (default: a table) or json: {"KEY": {"value", "source", "kind", "doc"}, ...}

Exit codes: 0 valid, 1 invalid (the errors are printed on stderr, as by \`vpc-cni validate\`).
`,
  options: { ...configOptions, ...outputOption, changed: { type: 'boolean', default: false } },
  async run({ values, io }) {
    const output = outputFormat(values);
    const loaded = await loadConfigFromFlags(values, io.env);
    if (!reportConfigIssues(loaded, io)) return 1;
    const rows = Object.keys(loaded.catalog)
      .sort()
      .map((key) => ({ key, ...loaded.values[key]!, setting: loaded.catalog[key]! }))
      .filter((row) => row.setting.kind !== 'noop')
      .filter((row) => !values.changed || (row.source.kind !== 'default' && row.source.kind !== 'derived'));
    if (output === 'json') {
      const out = Object.fromEntries(
        rows.map((r) => [r.key, { value: r.value, source: r.source, kind: r.setting.kind, doc: r.setting.doc }]),
      );
      io.stdout(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    const keyWidth = Math.max(...rows.map((r) => r.key.length), 3);
    const valueWidth = Math.min(Math.max(...rows.map((r) => display(r.value).length), 5), 48);
    io.stdout(`${'KEY'.padEnd(keyWidth)}  ${'VALUE'.padEnd(valueWidth)}  SOURCE\n`);
    for (const r of rows) {
      io.stdout(`${r.key.padEnd(keyWidth)}  ${display(r.value).padEnd(valueWidth)}  ${describeSource(r.source)}\n`);
    }
    return 0;
  },
};
