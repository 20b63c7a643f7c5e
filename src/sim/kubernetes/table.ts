import type { ResourceType } from './resources.ts';
import type { KubeObject } from './selectors.ts';

/**
 * Server-side printing (`Accept: …;as=Table;g=meta.k8s.io`), which `kubectl get` asks for: the columns kubectl shows
 * for nodes and pods, name and age for the rest.
 */
export function renderTable(type: ResourceType, objects: readonly KubeObject[], resourceVersion: string) {
  const columns = COLUMNS[type.plural] ?? COLUMNS.default!;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map(([name]) => ({
      name,
      type: 'string',
      format: name === 'Name' ? 'name' : '',
      description: name,
      priority: 0,
    })),
    rows: objects.map((object) => ({ cells: columns.map(([, cell]) => cell(object)), object })),
  };
}

type Column = readonly [string, (object: KubeObject) => string];

const name: Column = ['Name', (o) => o.metadata.name];
const age: Column = ['Age', (o) => humanAge(o.metadata.creationTimestamp)];

const COLUMNS: Readonly<Record<string, readonly Column[]>> = {
  nodes: [
    name,
    ['Status', (o) => (conditions(o).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady')],
    ['Roles', (o) => roles(o)],
    age,
    ['Version', (o) => (o.status as { nodeInfo?: { kubeletVersion?: string } })?.nodeInfo?.kubeletVersion ?? ''],
  ],
  pods: [
    name,
    ['Status', (o) => (o.status as { phase?: string } | undefined)?.phase ?? 'Pending'],
    ['Node', (o) => (o.spec as { nodeName?: string })?.nodeName ?? '<none>'],
    age,
  ],
  default: [name, age],
};

function conditions(object: KubeObject): { type: string; status: string }[] {
  return (object.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
}

function roles(object: KubeObject): string {
  const found = Object.keys(object.metadata.labels ?? {})
    .filter((label) => label.startsWith('node-role.kubernetes.io/'))
    .map((label) => label.slice('node-role.kubernetes.io/'.length));
  return found.length > 0 ? found.join(',') : '<none>';
}

function humanAge(timestamp: string | undefined): string {
  if (timestamp === undefined) return '<unknown>';
  const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}
