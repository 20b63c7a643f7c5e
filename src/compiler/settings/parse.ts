import type { Catalog, Setting } from './catalog.ts';
import { bounded } from './echo.ts';
import type { ConfigIssue } from './issues.ts';
import { crossFieldIssues } from './rules.ts';
import { type Layer, mergeLayers, type RawValue, type Source, type SourceProblem } from './sources.ts';
import { looksLikeOurs, suggestKey } from './suggest.ts';
import type { Config } from './types.ts';
import { allowedText, valueSchema } from './values.ts';

/** One effective value and where it came from (`vpc-cni config` prints these). */
export interface EffectiveValue {
  readonly value: unknown;
  readonly source: Source;
  readonly raw?: string;
}

export type ParseResult =
  | {
      readonly ok: true;
      readonly config: Config;
      readonly values: Readonly<Record<string, EffectiveValue>>;
      readonly warnings: readonly ConfigIssue[];
    }
  | {
      readonly ok: false;
      readonly errors: readonly ConfigIssue[];
      readonly warnings: readonly ConfigIssue[];
      readonly values: Readonly<Record<string, EffectiveValue>>;
    };

/** Settings whose default is another setting's value when they are not set themselves. */
const DERIVED_DEFAULTS: Readonly<Record<string, string>> = { POD_MTU: 'AWS_VPC_ENI_MTU' };

/**
 * Variables of the stock aws-node DaemonSet that are not settings (the image version, the downward-API names, the
 * VPC id some installers add): copying that env verbatim must not draw warnings the operator cannot act on.
 */
const STOCK_ONLY: ReadonlySet<string> = new Set(['VPC_CNI_VERSION', 'VPC_ID', 'MY_NODE_NAME', 'MY_POD_NAME']);

/** A key given twice in one env file: the last wins (as in a shell or a DaemonSet `env:` list), said out loud. */
function duplicateIssues(layers: readonly Layer[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const layer of layers) {
    const seen = new Map<string, RawValue>();
    for (const raw of layer.values) {
      const first = seen.get(raw.key);
      seen.set(raw.key, raw);
      if (first === undefined || first.source.kind !== 'env-file' || raw.source.kind !== 'env-file') continue;
      issues.push({
        severity: 'warning',
        code: 'ignored',
        key: raw.key,
        value: first.value,
        source: first.source,
        reason: `set again at line ${raw.source.line}; the later value wins, as in a shell or a DaemonSet env list`,
      });
    }
  }
  return issues;
}

const SOURCE_ORDER: readonly Source['kind'][] = ['configmap', 'env-file', 'env', 'derived', 'default'];

/** Issues in the order an operator reads the inputs: by source, then file line; issues without a source first. */
function inReadingOrder(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const rank = (i: ConfigIssue) => (i.source === undefined ? -1 : SOURCE_ORDER.indexOf(i.source.kind));
  const line = (i: ConfigIssue) => (i.source?.kind === 'env-file' ? i.source.line : 0);
  return [...issues].sort((a, b) => rank(a) - rank(b) || line(a) - line(b));
}

const KIND_REASON: Readonly<Record<Setting['kind'], string>> = {
  bool: 'not a boolean',
  int: 'not an integer',
  mark: 'not an integer',
  enum: 'not one of the allowed values',
  string: 'invalid',
  cidrs: 'invalid CIDR list',
  tags: 'invalid tags',
  noop: 'invalid',
};

function defaultOf(key: string, setting: Setting, values: Record<string, EffectiveValue>): EffectiveValue {
  const from = DERIVED_DEFAULTS[key];
  const followed = from === undefined ? undefined : values[from];
  if (from !== undefined && followed !== undefined && followed.source.kind !== 'default')
    return { value: followed.value, source: { kind: 'derived', from } };
  return { value: setting.default, source: { kind: 'default' } };
}

function parseOne(raw: RawValue, setting: Setting): { value?: unknown; issues: ConfigIssue[] } {
  const base = { key: raw.key, value: raw.value, source: raw.source };
  if (setting.kind === 'noop') {
    return {
      issues: [
        {
          ...base,
          severity: 'warning',
          code: 'deprecated',
          reason: `deprecated no-op since ${setting.since}: ${setting.doc.replace(/^Deprecated no-op:\s*/i, '')}`,
        },
      ],
    };
  }
  const result = valueSchema(setting).safeParse(raw.value);
  if (!result.success) {
    const reasons = result.error.issues.map((i) => (i.code === 'custom' ? i.message : KIND_REASON[setting.kind]));
    const reason = [...new Set(reasons)].join('; ');
    return { issues: [{ ...base, severity: 'error', code: 'invalid_value', reason, allowed: allowedText(setting) }] };
  }
  if (setting.kind === 'tags') {
    const tags = result.data as Record<string, string>;
    const reserved = Object.keys(tags).filter((k) => k.includes(setting.reservedKeySubstring));
    const kept = Object.fromEntries(Object.entries(tags).filter(([k]) => !reserved.includes(k)));
    const issues: ConfigIssue[] = reserved.map((k) => ({
      ...base,
      severity: 'warning',
      code: 'dropped',
      reason: `tag key ${JSON.stringify(bounded(k))} is reserved (contains ${setting.reservedKeySubstring}) and is dropped`,
    }));
    return { value: kept, issues };
  }
  return { value: result.data, issues: [] };
}

/**
 * Validates raw string layers against the catalog and returns the typed configuration, or every problem at once.
 * Pure: the caller reads files and the environment and passes them in as layers.
 */
export function parseConfig(
  layers: readonly Layer[],
  catalog: Catalog,
  sourceProblems: readonly SourceProblem[] = [],
): ParseResult {
  const merged = mergeLayers(layers);
  const errors: ConfigIssue[] = sourceProblems.map((p) => ({
    severity: 'error',
    code: 'bad_source',
    key: p.where,
    reason: p.message,
  }));
  const warnings: ConfigIssue[] = duplicateIssues(layers);
  const known = Object.keys(catalog);

  for (const raw of merged.values()) {
    if (Object.hasOwn(catalog, raw.key)) continue;
    if (STOCK_ONLY.has(raw.key)) continue;
    // The process environment holds PATH, HOME, the SDK's AWS_* ...: only names shaped like ours are suspicious there.
    if (raw.source.kind === 'env' && !looksLikeOurs(raw.key)) continue;
    const suggestion = suggestKey(raw.key, known);
    warnings.push({
      severity: 'warning',
      code: 'unknown_key',
      key: raw.key,
      value: raw.value,
      source: raw.source,
      reason: 'not a setting of the Amazon VPC CNI or vpc-cni, ignored',
      ...(suggestion ? { suggestion } : {}),
    });
  }

  const values: Record<string, EffectiveValue> = {};
  // Keys with derived defaults go last so the setting they follow is already resolved.
  const order = [...known].sort((a, b) => Number(a in DERIVED_DEFAULTS) - Number(b in DERIVED_DEFAULTS));
  for (const key of order) {
    const setting = catalog[key]!;
    const raw = merged.get(key);
    const emptyMeansUnset = setting.kind !== 'string' && setting.kind !== 'noop';
    if (raw === undefined) {
      values[key] = defaultOf(key, setting, values);
      continue;
    }
    if (raw.value === '' && emptyMeansUnset) {
      values[key] = defaultOf(key, setting, values);
      warnings.push({
        severity: 'warning',
        code: 'empty_value',
        key,
        value: '',
        source: raw.source,
        reason: `empty, so the default ${JSON.stringify(values[key]!.value)} is used`,
      });
      continue;
    }
    const { value, issues } = parseOne(raw, setting);
    for (const i of issues) (i.severity === 'error' ? errors : warnings).push(i);
    values[key] = value === undefined ? defaultOf(key, setting, values) : { value, source: raw.source, raw: raw.value };
  }

  const config = Object.fromEntries(
    Object.entries(values)
      .filter(([key]) => catalog[key]!.kind !== 'noop')
      .map(([key, v]) => [key, v.value]),
  ) as Config;
  const sources = Object.fromEntries(Object.entries(values).map(([key, v]) => [key, v.source]));
  // Cross-setting rules run in the same pass (every problem in one run); a setting whose own value is invalid is
  // judged at its default here, so its rule findings would be noise and are left out.
  const invalid = new Set(errors.map((i) => i.key));
  for (const i of crossFieldIssues(config, sources)) {
    if (!invalid.has(i.key)) (i.severity === 'error' ? errors : warnings).push(i);
  }
  const sorted = { errors: inReadingOrder(errors), warnings: inReadingOrder(warnings) };
  if (errors.length > 0) return { ok: false, ...sorted, values };
  return { ok: true, config: Object.freeze(config), values, warnings: sorted.warnings };
}
