/**
 * The live `amazon-vpc-cni` ConfigMap: each version the watch delivers is validated with the loader `validate` uses
 * (the env file and the process environment as at start, this ConfigMap in place of the start one). An invalid one is
 * refused whole (the running configuration stays) and a Warning Event on the node says why; a valid one goes to
 * `view.reconfigure`, and a Normal Event names what took effect and what waits for a node recycle.
 */
import type { V1ConfigMap } from '@kubernetes/client-node';
import { type Config, formatIssue } from '../../compiler/settings/index.ts';
import { type ConfigSources, loadConfig } from '../../config/load.ts';
import type { Log } from '../log.ts';
import type { AgentView } from '../view.ts';
import type { EventSpec } from './correlate.ts';

export const CONFIGMAP_NAMESPACE = 'kube-system';
export const CONFIGMAP_NAME = 'amazon-vpc-cni';
/** How values from it are sourced in `vpc-cni config`, `status` and the Events. */
export const CONFIGMAP_WHERE = `${CONFIGMAP_NAMESPACE}/${CONFIGMAP_NAME}`;

/** An Event message stays readable in `kubectl describe` (the API server allows 1 KiB in a single line). */
const MESSAGE_LIMIT = 1000;

function bounded(text: string): string {
  return text.length <= MESSAGE_LIMIT ? text : `${text.slice(0, MESSAGE_LIMIT - 1)}…`;
}

function shown(config: Config, key: string): string {
  const value = (config as Readonly<Record<string, unknown>>)[key];
  const text = value === undefined ? '(unset)' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** Keys whose value differs between two validated configurations. */
export function changedKeys(before: Config, after: Config): string[] {
  const get = (c: Config, key: string) => JSON.stringify((c as Readonly<Record<string, unknown>>)[key]);
  return [...new Set([...Object.keys(before), ...Object.keys(after)])]
    .filter((key) => get(before, key) !== get(after, key))
    .sort();
}

export function refusedMessage(problems: readonly string[]): string {
  return bounded(`ConfigMap ${CONFIGMAP_WHERE} refused, the running configuration stays: ${problems.join('; ')}`);
}

export function appliedMessage(
  applied: readonly string[],
  pending: readonly string[],
  before: Config,
  after: Config,
): string {
  const change = (key: string) => `${key}=${shown(after, key)} (was ${shown(before, key)})`;
  const parts = [
    `ConfigMap ${CONFIGMAP_WHERE}: applied ${applied.length === 0 ? 'nothing' : applied.map(change).join(', ')}`,
  ];
  if (pending.length > 0) parts.push(`waits for a node recycle: ${pending.map(change).join(', ')}`);
  return bounded(parts.join('; '));
}

export interface LiveConfigMapOptions {
  readonly view: AgentView;
  /** The env layers as at start (the ConfigMap layer is what this replaces). */
  readonly sources: Omit<ConfigSources, 'configMap' | 'configMapObject'>;
  readonly log: Log;
  readonly record: (event: Omit<EventSpec, 'object'>) => void;
}

/**
 * Takes each ConfigMap the watch sees (undefined: deleted or absent), one at a time; a burst of edits is settled by
 * validating only the newest.
 */
export function liveConfigMap(o: LiveConfigMapOptions): { consider(object: V1ConfigMap | undefined): Promise<void> } {
  let newest: { object: V1ConfigMap | undefined } | undefined;
  let running: Promise<void> = Promise.resolve();
  let lastVersion: string | undefined;

  const settle = async () => {
    const next = newest;
    newest = undefined;
    if (next === undefined) return;
    const version = next.object?.metadata?.resourceVersion ?? 'absent';
    if (version === lastVersion) return;
    lastVersion = version;
    const loaded = await loadConfig({
      ...o.sources,
      ...(next.object === undefined
        ? {}
        : {
            configMapObject: {
              // Objects in a list carry no kind; the loader checks that this is a ConfigMap.
              manifest: { ...next.object, kind: 'ConfigMap' },
              where: CONFIGMAP_WHERE,
            },
          }),
    });
    if (!loaded.ok) {
      const problems = loaded.errors.map(formatIssue);
      o.log.warn(refusedMessage(problems));
      o.view.bus.publish({ kind: 'config-refused', problems });
      o.record({ type: 'Warning', reason: 'ConfigRefused', message: refusedMessage(problems) });
      return;
    }
    for (const warning of loaded.warnings) o.log.warn(`ConfigMap ${CONFIGMAP_WHERE}: ${formatIssue(warning)}`);
    const before = o.view.config();
    // The first sight of a ConfigMap the agent started with changes nothing: no reconfigure, no Event.
    if (changedKeys(before, loaded.config).length === 0) return;
    const result = await o.view.reconfigure(loaded.config, loaded.values);
    const message = appliedMessage(result.applied, result.pendingRecycle, before, loaded.config);
    o.log.info(message);
    o.record({ type: 'Normal', reason: 'ConfigApplied', message });
  };

  return {
    consider(object) {
      newest = { object };
      running = running.then(settle).catch((error: Error) => {
        o.log.error(`ConfigMap ${CONFIGMAP_WHERE}: not applied: ${error.message}`);
        o.record({
          type: 'Warning',
          reason: 'ConfigNotApplied',
          message: bounded(`ConfigMap ${CONFIGMAP_WHERE} valid but not applied: ${error.message}`),
        });
      });
      return running;
    },
  };
}
