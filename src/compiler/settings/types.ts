import type { settings } from './settings.generated.ts';

type Settings = typeof settings;

type ValueOf<S> = S extends { kind: 'bool' }
  ? boolean
  : S extends { kind: 'int' | 'mark' }
    ? number
    : S extends { kind: 'cidrs' }
      ? readonly string[]
      : S extends { kind: 'tags' }
        ? Readonly<Record<string, string>>
        : S extends { kind: 'enum'; values: readonly (infer V)[] }
          ? V
          : string;

/** Every setting name, env variables and ConfigMap keys alike. */
export type SettingKey = keyof Settings;

/**
 * The typed, validated configuration, keyed by the Amazon VPC CNI's own names (`config.AWS_VPC_ENI_MTU`).
 * Derived from schema/config.cue through the generated catalog, so the schema and this type cannot drift apart.
 * Deprecated no-op settings are not part of it: nothing may read them.
 */
export type Config = {
  readonly [K in SettingKey as Settings[K] extends { kind: 'noop' } ? never : K]: ValueOf<Settings[K]>;
};
