import test from 'ava';
import { KUBERNETES_ACCESS } from '../../src/agent/kube/access.ts';
import { type KubeObject, manifestDocuments, only } from './support.ts';

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/**
 * One permission per line, "namespace group/resource[/name] verb" ('*' for cluster-wide), so a set diff names each
 * extra or missing one.
 */
function grant(namespace: string, group: string, resource: string, name: string, verb: string): string {
  return `${namespace} ${group}/${resource}${name && `/${name}`} ${verb}`;
}

function grants(rules: readonly PolicyRule[], namespace: string): string[] {
  return rules.flatMap((rule) =>
    (rule.apiGroups ?? []).flatMap((group) =>
      (rule.resources ?? []).flatMap((resource) =>
        (rule.resourceNames ?? ['']).flatMap((name) =>
          rule.verbs.map((verb) => grant(namespace, group, resource, name, verb)),
        ),
      ),
    ),
  );
}

function rulesOf(role: KubeObject): PolicyRule[] {
  return (role.rules as PolicyRule[] | undefined) ?? [];
}

test('the ClusterRole and Role grant exactly KUBERNETES_ACCESS: nothing the code does not call, nothing it calls missing', async (t) => {
  const documents = await manifestDocuments();
  const granted = [
    ...documents.filter((d) => d.object.kind === 'ClusterRole').flatMap((d) => grants(rulesOf(d.object), '*')),
    ...documents
      .filter((d) => d.object.kind === 'Role')
      .flatMap((d) => grants(rulesOf(d.object), d.object.metadata.namespace ?? 'default')),
  ].sort();
  const needed = KUBERNETES_ACCESS.flatMap((access) =>
    (access.resourceNames ?? ['']).flatMap((name) =>
      access.verbs.map((verb) => grant(access.namespace ?? '*', access.group, access.resource, name, verb)),
    ),
  ).sort();
  t.deepEqual(granted, needed);
  // Wildcards and non-resource URLs would widen a grant behind the comparison's back.
  for (const d of documents.filter((d) => d.object.kind === 'ClusterRole' || d.object.kind === 'Role')) {
    for (const rule of rulesOf(d.object)) {
      t.is(rule.nonResourceURLs, undefined);
      t.false([...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs].includes('*'));
    }
  }
});

test('each role is bound to the ServiceAccount the DaemonSet runs as, and to nothing else', async (t) => {
  const documents = await manifestDocuments();
  const serviceAccount = only(documents, 'ServiceAccount');
  const pod = (only(documents, 'DaemonSet').spec as { template: { spec: { serviceAccountName?: string } } }).template
    .spec;
  t.is(pod.serviceAccountName, serviceAccount.metadata.name);
  const subject = {
    kind: 'ServiceAccount',
    name: serviceAccount.metadata.name,
    namespace: serviceAccount.metadata.namespace,
  };
  for (const [bindingKind, roleKind] of [
    ['ClusterRoleBinding', 'ClusterRole'],
    ['RoleBinding', 'Role'],
  ] as const) {
    const role = only(documents, roleKind);
    const binding = only(documents, bindingKind);
    t.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: role.metadata.name });
    t.deepEqual(binding.subjects, [subject]);
    t.is(binding.metadata.namespace, role.metadata.namespace);
  }
});
