import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ipv4CidrsOverlap, parseIpv4Network } from '../../lib/address.ts';
import { privateDnsName } from '../ec2/render.ts';
import type { Cloud } from '../model/cloud.ts';
import type { Instance } from '../model/eni.ts';
import { RESOURCES } from './resources.ts';
import type { ObjectStore } from './store.ts';

const type = (plural: string) => RESOURCES.find((r) => r.plural === plural)!;

/**
 * What a fresh EKS cluster holds for the agent: the namespaces, the node object of the simulated instance (labels,
 * providerID and max-pods capacity as the kubelet sets them), and one ENIConfig per zone that has a subnet in a
 * secondary VPC CIDR (custom networking, named after the zone as ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone expects).
 */
export function seedCluster(store: ObjectStore, cloud: Cloud, instance: Instance): string {
  for (const name of ['default', 'kube-system'])
    store.create(type('namespaces'), { metadata: { name }, spec: {}, status: { phase: 'Active' } });
  const limits = cloud.limitsOf(instance);
  const address = cloud.eni(instance.primaryEniId).privateIps[0]!.address;
  const nodeName = privateDnsName(cloud.region, address);
  const maxPods = String(limits.eniLimit * (limits.ipv4Limit - 1) + 2);
  store.create(type('nodes'), {
    metadata: {
      name: nodeName,
      labels: {
        'kubernetes.io/hostname': nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': instance.type,
        'topology.kubernetes.io/region': cloud.region,
        'topology.kubernetes.io/zone': instance.zone,
      },
      annotations: {},
    },
    spec: { providerID: `aws:///${instance.zone}/${instance.id}` },
    status: {
      capacity: { pods: maxPods, cpu: '2', memory: '7934Mi' },
      allocatable: { pods: maxPods, cpu: '1930m', memory: '7244Mi' },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address },
        { type: 'Hostname', address: nodeName },
        { type: 'InternalDNS', address: nodeName },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0-eks',
        containerRuntimeVersion: 'containerd://1.7.0',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  });
  const primaryCidr = parseIpv4Network(cloud.vpcCidrs[0]!)!;
  const podGroup = [...cloud.securityGroups.keys()].at(-1)!;
  for (const subnet of cloud.subnets.values()) {
    if (ipv4CidrsOverlap(primaryCidr, parseIpv4Network(subnet.cidrBlock)!)) continue;
    const existing = store.list(type('eniconfigs'), undefined).some((o) => o.metadata.name === subnet.zone);
    if (!existing)
      store.create(type('eniconfigs'), {
        metadata: { name: subnet.zone },
        spec: { subnet: subnet.id, securityGroups: [podGroup] },
      });
  }
  return nodeName;
}

/** A kubeconfig for the simulated API server. client-node refuses plain HTTP unless TLS verification is "skipped". */
export async function writeKubeconfig(serverUrl: string): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'vpc-cni-sim-'));
  const path = join(dir, 'kubeconfig');
  const config = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: sim',
    '  cluster:',
    `    server: ${serverUrl}`,
    '    insecure-skip-tls-verify: true',
    'users:',
    '- name: sim',
    '  user:',
    '    token: sim',
    'contexts:',
    '- name: sim',
    '  context:',
    '    cluster: sim',
    '    user: sim',
    'current-context: sim',
    '',
  ].join('\n');
  await writeFile(path, config, { mode: 0o600 });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}
