import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { RESOURCES, startSimulators } from '../../src/sim/index.ts';
import { testNeeding } from '../helpers/needs.ts';
import { type KubeObject, manifestDocuments, manifestsDir, only } from './support.ts';

const kubectl = '/usr/bin/kubectl';
const withKubectl = testNeeding(existsSync(kubectl), 'no kubectl on this machine');

interface Requirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}
type Affinity = {
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: { matchExpressions: Requirement[] }[] };
  };
};

/** Whether the node affinity of a DaemonSet's pods admits a node with these labels (the scheduler's rule). */
function admits(daemonSet: KubeObject, labels: Record<string, string>): boolean {
  const affinity = (daemonSet.spec as { template: { spec: { affinity: Affinity } } }).template.spec.affinity;
  return affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.some((term) =>
    term.matchExpressions.every(({ key, operator, values = [] }) => {
      const value = labels[key];
      if (operator === 'In') return value !== undefined && values.includes(value);
      if (operator === 'NotIn') return value === undefined || !values.includes(value);
      return (value !== undefined) === (operator === 'Exists');
    }),
  );
}

/** aws-node's DaemonSet as config/master/aws-k8s-cni.yaml (v1.23.1) places it; the rest of its spec plays no part. */
const awsNode: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'aws-node', namespace: 'kube-system', labels: { 'k8s-app': 'aws-node' } },
  spec: {
    selector: { matchLabels: { 'k8s-app': 'aws-node' } },
    template: {
      metadata: { labels: { 'k8s-app': 'aws-node' } },
      spec: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                {
                  matchExpressions: [
                    { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
                    { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64', 'arm64'] },
                    { key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['fargate', 'hybrid', 'auto'] },
                  ],
                },
              ],
            },
          },
        },
        containers: [{ name: 'aws-node', image: 'amazon-k8s-cni:v1.23.1' }],
      },
    },
  },
};

withKubectl(
  'after the aws-node patch, every node runs exactly one of aws-node and vpc-cni (or neither, while handing over), chosen by its label',
  async (t) => {
    const sims = await startSimulators();
    t.teardown(() => sims.close());
    const daemonSets = RESOURCES.find((r) => r.kind === 'DaemonSet')!;
    sims.kubernetes.create(daemonSets, awsNode);
    const patchFile = new URL('switch/aws-node.patch.json', manifestsDir).pathname;
    const { stdout } = await execa(kubectl, [
      ...['--kubeconfig', sims.kubeconfigPath, '-n', 'kube-system'],
      ...['patch', 'daemonset', 'aws-node', '--type', 'json', '--patch-file', patchFile],
    ]);
    t.is(stdout, 'daemonset.apps/aws-node patched');
    const patched = sims.kubernetes.get(daemonSets, 'kube-system', 'aws-node') as KubeObject;
    const vpcCni = only(await manifestDocuments(), 'DaemonSet');
    const linux = { 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'arm64' };
    const runs = (labels: Record<string, string>) =>
      [admits(patched, labels) && 'aws-node', admits(vpcCni, labels) && 'vpc-cni'].filter(Boolean);
    t.deepEqual(runs(linux), ['aws-node']);
    t.deepEqual(runs({ ...linux, 'vpc-cni/agent': 'vpc-cni' }), ['vpc-cni']);
    t.deepEqual(runs({ ...linux, 'vpc-cni/agent': 'aws-node' }), ['aws-node']);
    // The hand-over step: aws-node gone before vpc-cni starts, so the two never run on the node at once.
    t.deepEqual(runs({ ...linux, 'vpc-cni/agent': 'none' }), []);
    // Where aws-node never ran, vpc-cni does not either, label or not.
    const fargate = { ...linux, 'eks.amazonaws.com/compute-type': 'fargate' };
    t.deepEqual(runs(fargate), []);
    t.deepEqual(runs({ ...fargate, 'vpc-cni/agent': 'vpc-cni' }), []);
    t.deepEqual(runs({ 'kubernetes.io/os': 'windows', 'vpc-cni/agent': 'vpc-cni' }), []);
    // Nothing else of aws-node changed: its containers, selector and the requirements it had are as they were.
    const { affinity: before, ...restBefore } = (awsNode.spec as { template: { spec: Record<string, unknown> } })
      .template.spec;
    const { affinity: after, ...restAfter } = (patched.spec as { template: { spec: Record<string, unknown> } }).template
      .spec;
    t.deepEqual(restAfter, restBefore);
    const expressions = (a: unknown) =>
      (a as Affinity).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]!
        .matchExpressions;
    t.deepEqual(expressions(after), [
      ...expressions(before),
      { key: 'vpc-cni/agent', operator: 'NotIn', values: ['vpc-cni', 'none'] },
    ]);
  },
);
