import { badRequest } from './errors.ts';

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
};

export type Selector = (object: KubeObject) => boolean;

/** `labelSelector`: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-separated (ANDed). */
export function labelSelector(text: string | null): Selector {
  if (!text) return () => true;
  const terms = text.match(/[^,(]+(\([^)]*\))?/g)?.map((term) => term.trim()) ?? [];
  const tests = terms.map((term): Selector => {
    const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const values = set[3]!.split(',').map((v) => v.trim());
      return (o) => values.includes(o.metadata.labels?.[set[1]!] ?? '\0') === (set[2] === 'in');
    }
    const pair = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (pair) return (o) => (o.metadata.labels?.[pair[1]!] === pair[3]) === (pair[2] !== '!=');
    if (term.startsWith('!')) return (o) => o.metadata.labels?.[term.slice(1)] === undefined;
    if (/^[\w./-]+$/.test(term)) return (o) => o.metadata.labels?.[term] !== undefined;
    throw badRequest(`unable to parse label selector term '${term}'`);
  });
  return (object) => tests.every((test) => test(object));
}

const FIELDS: Readonly<Record<string, (object: KubeObject) => string | undefined>> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace,
  'spec.nodeName': (o) => (o.spec as { nodeName?: string } | undefined)?.nodeName ?? '',
  'status.phase': (o) => (o.status as { phase?: string } | undefined)?.phase,
  'involvedObject.name': (o) => (o.involvedObject as { name?: string } | undefined)?.name,
  'involvedObject.namespace': (o) => (o.involvedObject as { namespace?: string } | undefined)?.namespace ?? '',
  'involvedObject.kind': (o) => (o.involvedObject as { kind?: string } | undefined)?.kind,
  reason: (o) => o.reason as string | undefined,
  type: (o) => o.type as string | undefined,
};

/** `fieldSelector`: equality on the fields the apiserver indexes for these resources (e.g. `spec.nodeName=n1`). */
export function fieldSelector(text: string | null): Selector {
  if (!text) return () => true;
  const tests = text.split(',').map((term): Selector => {
    const match = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    const field = match && FIELDS[match[1]!];
    if (!match || !field) throw badRequest(`field label not supported: ${term}`);
    return (o) => (field(o) === match[3]) === (match[2] !== '!=');
  });
  return (object) => tests.every((test) => test(object));
}
