import { badRequest, invalid, KubeError } from './errors.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export const PATCH_TYPES = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
} as const;

/** Applies a PATCH body of the given content type to a copy of `target`. */
export function applyPatch(target: JsonObject, contentType: string, patch: unknown): JsonObject {
  const type = contentType.split(';')[0]!.trim();
  if (type === PATCH_TYPES.json) return jsonPatch(target, patch);
  if (type === PATCH_TYPES.merge) return mergePatch(target, patch as Json) as JsonObject;
  if (type === PATCH_TYPES.strategic) return strategicPatch(target, patch as Json) as JsonObject;
  throw new KubeError(415, 'UnsupportedMediaType', `the patch content type '${type}' is not supported`);
}

/** RFC 7386: objects merge key by key, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

/**
 * Strategic merge as kubectl sends it for the fields it patches on nodes, pods and DaemonSets: like a merge patch,
 * except that lists of objects with a merge key (taints by `key`, conditions by `type`, env by `name`) merge item by
 * item, `$patch: delete` removes an item, and `$setElementOrder/…` and `$retainKeys` directives are accepted.
 */
export function strategicPatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$setElementOrder/') || key === '$retainKeys') continue;
    const mergeKey = MERGE_KEYS[key];
    if (value === null) delete result[key];
    else if (mergeKey !== undefined && Array.isArray(value)) result[key] = mergeList(result[key], value, mergeKey);
    else result[key] = strategicPatch(result[key] ?? null, value);
  }
  return result;
}

/** The merge keys of the lists the served kinds have (Kubernetes' `patchMergeKey`), by field name. */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  taints: 'key',
  conditions: 'type',
  containers: 'name',
  initContainers: 'name',
  addresses: 'type',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  ports: 'containerPort',
};

function mergeList(current: Json | undefined, patch: Json[], mergeKey: string): Json[] {
  const items = Array.isArray(current) ? [...current] : [];
  for (const entry of patch) {
    if (!isObject(entry)) throw invalid(`list items patched by ${mergeKey} must be objects`);
    const index = items.findIndex((item) => isObject(item) && item[mergeKey] === entry[mergeKey]);
    const { $patch: directive, ...fields } = entry;
    if (directive === 'delete') {
      if (index >= 0) items.splice(index, 1);
    } else if (index >= 0) items[index] = strategicPatch(items[index]!, fields);
    else items.push(fields);
  }
  return items;
}

/** RFC 6902 operations add, remove, replace and test, on JSON pointers. */
function jsonPatch(target: JsonObject, patch: unknown): JsonObject {
  if (!Array.isArray(patch)) throw badRequest('a JSON patch must be an array of operations');
  const document = structuredClone(target);
  for (const operation of patch as { op?: string; path?: string; value?: Json }[]) {
    const segments = (operation.path ?? '')
      .split('/')
      .slice(1)
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = segments.pop();
    if (last === undefined) throw badRequest(`JSON patch path '${operation.path}' is not valid`);
    let parent: Json = document;
    for (const segment of segments) {
      const next: Json | undefined = Array.isArray(parent)
        ? parent[Number(segment)]
        : isObject(parent)
          ? parent[segment]
          : undefined;
      if (next === undefined || next === null) throw invalid(`JSON patch path '${operation.path}' does not exist`);
      parent = next;
    }
    applyOperation(parent, last, operation);
  }
  return document;
}

function applyOperation(parent: Json, key: string, operation: { op?: string; path?: string; value?: Json }): void {
  const path = operation.path;
  if (Array.isArray(parent)) {
    const index = key === '-' ? parent.length : Number(key);
    if (operation.op === 'add') parent.splice(index, 0, operation.value ?? null);
    else if (operation.op === 'remove') parent.splice(index, 1);
    else if (operation.op === 'replace') parent[index] = operation.value ?? null;
    else if (operation.op === 'test' && JSON.stringify(parent[index]) !== JSON.stringify(operation.value))
      throw invalid(`test failed at ${path}`);
    return;
  }
  if (!isObject(parent)) throw invalid(`JSON patch path '${path}' does not exist`);
  if (operation.op === 'add' || operation.op === 'replace') parent[key] = operation.value ?? null;
  else if (operation.op === 'remove') {
    if (!(key in parent)) throw invalid(`JSON patch path '${path}' does not exist`);
    delete parent[key];
  } else if (operation.op === 'test') {
    if (JSON.stringify(parent[key]) !== JSON.stringify(operation.value)) throw invalid(`test failed at ${path}`);
  } else throw badRequest(`JSON patch operation '${operation.op}' is not supported`);
}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
