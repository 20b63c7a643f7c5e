import type { Catalog, Setting } from './catalog.ts';
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
          reason: `deprecated no-op since ${setting.since}: ${setting.doc}`,
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
      reason: `tag key "${k}" is reserved (contains ${setting.reservedKeySubstring}) and is dropped`,
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
  const warnings: ConfigIssue[] = [];
  const known = Object.keys(catalog);

  for (const raw of merged.values()) {
    if (catalog[raw.key] !== undefined) continue;
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

  if (errors.length > 0) return { ok: false, errors, warnings, values };

  const config = Object.fromEntries(
    Object.entries(values)
      .filter(([key]) => catalog[key]!.kind !== 'noop')
      .map(([key, v]) => [key, v.value]),
  ) as Config;
  const sources = Object.fromEntries(Object.entries(values).map(([key, v]) => [key, v.source]));
  for (const i of crossFieldIssues(config, sources)) (i.severity === 'error' ? errors : warnings).push(i);
  if (errors.length > 0) return { ok: false, errors, warnings, values };
  return { ok: true, config: Object.freeze(config), values, warnings };
}
