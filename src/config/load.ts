import { parseAllDocuments } from 'yaml';
import {
  type Catalog,
  envLayer,
  type Layer,
  type ParseResult,
  parseConfig,
  parseConfigMap,
  parseEnvFile,
  type SourceProblem,
} from '../compiler/settings/index.ts';
import { readBoundedFile } from '../node/bounded-file.ts';
import { loadCatalog } from './schema.ts';

export interface ConfigSources {
  /** The process environment (all of it: the parser keeps what concerns it). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--environment-file`: KEY=VALUE lines. */
  readonly envFile?: string | undefined;
  /** `--configmap`: the `amazon-vpc-cni` ConfigMap manifest, YAML or JSON. */
  readonly configMap?: string | undefined;
  /**
   * The ConfigMap as the API server holds it (the agent's watch), in place of `configMap`'s file: `where` names it in
   * every problem and source ('ConfigMap kube-system/amazon-vpc-cni').
   */
  readonly configMapObject?: { readonly manifest: unknown; readonly where: string } | undefined;
}

export type LoadedConfig = ParseResult & { readonly catalog: Catalog };

/** An env file or ConfigMap is a few KiB; anything past this is not one (or is /dev/zero), so reading stops there. */
export const MAX_SOURCE_BYTES = 1024 * 1024;

async function readSource(path: string, what: string): Promise<{ text?: string; problem?: SourceProblem }> {
  try {
    const text = await readBoundedFile(path, MAX_SOURCE_BYTES);
    if (text === undefined) return { problem: { where: path, message: `cannot read ${what}: no such file` } };
    return { text };
  } catch (error) {
    return { problem: { where: path, message: `cannot read ${what}: ${(error as Error).message}` } };
  }
}

/** YAML is a superset of JSON, so one parser serves both; several documents are allowed if one is the ConfigMap. */
function decodeManifest(text: string, file: string): { manifest?: unknown; problem?: SourceProblem } {
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) return { manifest: undefined };
  for (const doc of documents) {
    if (doc.errors.length > 0)
      return { problem: { where: file, message: `not valid YAML/JSON: ${doc.errors[0]!.message}` } };
  }
  const decoded = documents.map((d) => d.toJS() as unknown);
  const configMaps = decoded.filter((d) => (d as { kind?: unknown } | null)?.kind === 'ConfigMap');
  const named = configMaps.find((d) => (d as { metadata?: { name?: unknown } }).metadata?.name === 'amazon-vpc-cni');
  return { manifest: named ?? configMaps[0] ?? decoded[0] };
}

/** Reads every source, evaluates the schema (once per process) and validates. Never throws for bad input. */
export async function loadConfig(sources: ConfigSources): Promise<LoadedConfig> {
  const catalog = await loadCatalog();
  const layers: Layer[] = [];
  const problems: SourceProblem[] = [];

  if (sources.configMapObject !== undefined) {
    const { layer, problems: p } = parseConfigMap(sources.configMapObject.manifest, sources.configMapObject.where);
    layers.push(layer);
    problems.push(...p);
  } else if (sources.configMap !== undefined) {
    const { text, problem } = await readSource(sources.configMap, 'ConfigMap file');
    if (problem) problems.push(problem);
    if (text !== undefined) {
      const decoded = decodeManifest(text, sources.configMap);
      if (decoded.problem) problems.push(decoded.problem);
      else {
        const { layer, problems: p } = parseConfigMap(decoded.manifest, sources.configMap);
        layers.push(layer);
        problems.push(...p);
      }
    }
  }
  if (sources.envFile !== undefined) {
    const { text, problem } = await readSource(sources.envFile, 'env file');
    if (problem) problems.push(problem);
    if (text !== undefined) {
      const { layer, problems: p } = parseEnvFile(text, sources.envFile);
      layers.push(layer);
      problems.push(...p);
    }
  }
  layers.push(envLayer(sources.env, () => true));
  return { ...parseConfig(layers, catalog, problems), catalog };
}

/** `loadConfig` from the parsed `configOptions` flags of a command. */
export function loadConfigFromFlags(
  values: Readonly<Record<string, unknown>>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<LoadedConfig> {
  return loadConfig({
    env,
    envFile: values['environment-file'] as string | undefined,
    configMap: values.configmap as string | undefined,
  });
}

/** The flags every command that reads configuration accepts. */
export const configOptions = {
  'environment-file': { type: 'string' },
  configmap: { type: 'string' },
} as const;

export const configOptionsHelp = [
  '  --environment-file FILE',
  '                      KEY=VALUE lines (like a DaemonSet env list); overrides the ConfigMap. Not `--env-file`:',
  '                      Node takes that for its own even after the script name and would run its NODE_OPTIONS',
  '  --configmap FILE    the amazon-vpc-cni ConfigMap manifest (YAML or JSON); its data keys are setting names',
  '  The process environment overrides both. Precedence: default < ConfigMap < env file < environment.',
].join('\n');
