import { bounded } from './echo.ts';

/**
 * Where a configuration value comes from. Precedence, lowest to highest:
 *   schema default < ConfigMap `amazon-vpc-cni` data < `--environment-file` < process environment.
 * The most specific source wins, as with a DaemonSet whose `env:` overrides an `envFrom:` ConfigMap.
 */
export type Source =
  | { readonly kind: 'default' }
  | { readonly kind: 'derived'; readonly from: string }
  | { readonly kind: 'configmap'; readonly file: string }
  | { readonly kind: 'env-file'; readonly file: string; readonly line: number }
  | { readonly kind: 'env' };

export const PRECEDENCE: readonly Source['kind'][] = ['default', 'derived', 'configmap', 'env-file', 'env'];

export interface RawValue {
  readonly key: string;
  readonly value: string;
  readonly source: Source;
}

/** One layer of raw values, all from the same kind of source. */
export interface Layer {
  readonly kind: 'configmap' | 'env-file' | 'env';
  readonly values: readonly RawValue[];
}

export function describeSource(source: Source): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'derived':
      return `default (follows ${source.from})`;
    case 'configmap':
      return `ConfigMap ${source.file}`;
    case 'env-file':
      return `env file ${source.file}:${source.line}`;
    case 'env':
      return 'environment';
  }
}

/** A problem in a source file itself (not in a value), e.g. a line without `=`. */
export interface SourceProblem {
  readonly where: string;
  readonly message: string;
}

/** Parses `KEY=VALUE` lines (blank lines and `#` comments ignored, optional `export `, optional matching quotes). */
export function parseEnvFile(text: string, file: string): { layer: Layer; problems: SourceProblem[] } {
  const values: RawValue[] = [];
  const problems: SourceProblem[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    const key = eq > 0 ? body.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key)) {
      problems.push({
        where: `${file}:${index + 1}`,
        message: `expected KEY=VALUE, got ${JSON.stringify(bounded(raw))}`,
      });
      return;
    }
    let value = body.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    values.push({ key, value, source: { kind: 'env-file', file, line: index + 1 } });
  });
  return { layer: { kind: 'env-file', values }, problems };
}

/** Any decoded YAML value, echoed short: a hostile manifest can hold megabytes in one field. */
function shownJson(value: unknown): string {
  return bounded(JSON.stringify(value) ?? String(value));
}

/**
 * Takes the data of an `amazon-vpc-cni` ConfigMap manifest (already decoded from YAML or JSON). Kubernetes stores
 * ConfigMap data as strings only, so a YAML number or boolean is reported (the API server would refuse it too).
 */
export function parseConfigMap(manifest: unknown, file: string): { layer: Layer; problems: SourceProblem[] } {
  const problems: SourceProblem[] = [];
  const values: RawValue[] = [];
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    problems.push({ where: file, message: 'not a ConfigMap manifest (expected a mapping with kind: ConfigMap)' });
    return { layer: { kind: 'configmap', values }, problems };
  }
  const m = manifest as { kind?: unknown; metadata?: { name?: unknown }; data?: unknown };
  if (m.kind !== 'ConfigMap')
    problems.push({ where: file, message: `kind is ${shownJson(m.kind)}, expected ConfigMap` });
  const data = m.data ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.push({ where: `${file} data`, message: 'data must be a mapping of keys to strings' });
    return { layer: { kind: 'configmap', values }, problems };
  }
  for (const [key, value] of Object.entries(data)) {
    if (typeof value !== 'string') {
      const shown = shownJson(value);
      problems.push({
        where: `${file} data.${bounded(key)}`,
        message:
          typeof value === 'object' && value !== null
            ? `value ${shown} is not a string; ConfigMap data values are strings`
            : `value ${shown} is not a string; ConfigMap data values must be quoted strings ("${shown}")`,
      });
      continue;
    }
    values.push({ key, value, source: { kind: 'configmap', file } });
  }
  return { layer: { kind: 'configmap', values }, problems };
}

/** Turns a process environment into a layer. Only keys the caller selects are kept (the rest is the shell's business). */
export function envLayer(env: Readonly<Record<string, string | undefined>>, keep: (key: string) => boolean): Layer {
  const values: RawValue[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && keep(key)) values.push({ key, value, source: { kind: 'env' } });
  }
  return { kind: 'env', values };
}

/** Later layers override earlier ones; layers must be given in precedence order. */
export function mergeLayers(layers: readonly Layer[]): Map<string, RawValue> {
  const merged = new Map<string, RawValue>();
  const ordered = [...layers].sort((a, b) => PRECEDENCE.indexOf(a.kind) - PRECEDENCE.indexOf(b.kind));
  for (const layer of ordered) for (const value of layer.values) merged.set(value.key, value);
  return merged;
}
