/**
 * Configuration: the Amazon VPC CNI's environment variables and `amazon-vpc-cni` ConfigMap keys, validated and typed.
 * Pure; reading files, the environment and evaluating the CUE schema happen in src/config/.
 */
import { type Catalog, parseCatalog } from './catalog.ts';
import { ConfigError } from './issues.ts';
import { parseConfig } from './parse.ts';
import { settings } from './settings.generated.ts';
import type { RawValue } from './sources.ts';
import type { Config } from './types.ts';

export type { Catalog, Setting } from './catalog.ts';
export { ConfigError, type ConfigIssue, formatIssue } from './issues.ts';
export { type EffectiveValue, type ParseResult, parseConfig } from './parse.ts';
export {
  describeSource,
  envLayer,
  type Layer,
  PRECEDENCE,
  parseConfigMap,
  parseEnvFile,
  type RawValue,
  type Source,
  type SourceProblem,
} from './sources.ts';
export type { Config, SettingKey } from './types.ts';

let generated: Catalog | undefined;

/** The catalog as generated from the schema (identical to the CUE export; a test proves it). For tests and tools. */
export function generatedCatalog(): Catalog {
  generated ??= parseCatalog(settings);
  return generated;
}

/**
 * A validated Config from defaults plus raw string overrides, synchronously (no CUE evaluation): for tests and
 * examples. Throws ConfigError listing every problem.
 */
export function testConfig(overrides: Readonly<Record<string, string>> = {}): Config {
  const values: RawValue[] = Object.entries(overrides).map(([key, value]) => ({ key, value, source: { kind: 'env' } }));
  const result = parseConfig([{ kind: 'env', values }], generatedCatalog());
  if (!result.ok) throw new ConfigError(result.errors);
  return result.config;
}
