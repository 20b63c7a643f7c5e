/** Node snapshots and configs shared by the compiler tests: the checked-in examples, loaded once. */
import { readFileSync } from 'node:fs';
import { compileHostPlan, type PodAssignment } from '../../src/compiler/compile.ts';
import { type NodeFacts, parseNodeFacts } from '../../src/compiler/facts.ts';
import type { HostPlan } from '../../src/compiler/plan.ts';
import { testConfig } from '../../src/compiler/settings/index.ts';

export const NODES = ['m5-large-single-eni', 'three-eni-two-cidrs', 'ipv6'] as const;
export type NodeName = (typeof NODES)[number];

export function exampleNode(name: NodeName, override: Partial<NodeFacts> = {}): NodeFacts {
  const path = new URL(`../../examples/nodes/${name}.json`, import.meta.url);
  return { ...parseNodeFacts(JSON.parse(readFileSync(path, 'utf8')), path.pathname), ...override };
}

/** IPv4 defaults as the aws-node manifest sets them, plus overrides. */
export function ipv4Config(overrides: Record<string, string> = {}) {
  return testConfig({ ENABLE_IPv4: 'true', ENABLE_IPv6: 'false', ...overrides });
}

export function ipv6Config(overrides: Record<string, string> = {}) {
  return testConfig({
    ENABLE_IPv4: 'false',
    ENABLE_IPv6: 'true',
    ENABLE_PREFIX_DELEGATION: 'true',
    WARM_PREFIX_TARGET: '1',
    ...overrides,
  });
}

/**
 * Config × node variants that together make the compiler emit every rule shape it has (the kernel rendering test
 * round-trips all of them): both SNAT/NodePort settings, randomisation modes, marks, veth prefixes, exclusions incl.
 * 0.0.0.0/0, both connmark backends, IPv6 mode and IPv6 egress.
 */
export function planVariants(): { name: string; plan: HostPlan }[] {
  const single = exampleNode('m5-large-single-eni');
  const three = exampleNode('three-eni-two-cidrs');
  const legacy = { ...three, iptablesMode: 'legacy' as const };
  const pods: PodAssignment[] = [
    { ip: '10.10.41.17', hostVeth: 'eni1a2b3c4d5e6' },
    { ip: '100.64.12.11', hostVeth: 'eni6f5e4d3c2b1', eniTable: 2 },
  ];
  const v4 = (name: string, facts: NodeFacts, o: Record<string, string> = {}, p?: PodAssignment[]) => ({
    name,
    plan: compileHostPlan(ipv4Config(o), facts, p),
  });
  return [
    v4('defaults', three, {}, pods),
    v4('legacy', legacy),
    v4('external-snat', three, { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' }),
    v4('external-snat-no-nodeport', three, {
      AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true',
      AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false',
    }),
    v4('no-nodeport', legacy, { AWS_VPC_CNI_NODE_PORT_SUPPORT: 'false' }),
    v4('hashrandom', single, { AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'hashrandom' }),
    v4('none', single, { AWS_VPC_K8S_CNI_RANDOMIZESNAT: 'none' }),
    v4('exclusions', three, {
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '172.16.0.0/12,192.168.7.3/24',
      AWS_VPC_K8S_CNI_CONNMARK: '0x4000',
      AWS_VPC_K8S_CNI_VETHPREFIX: 'veth',
    }),
    v4('exclusions-legacy', legacy, {
      AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '0.0.0.0/0',
      AWS_VPC_K8S_CNI_VETHPREFIX: 'cali',
    }),
    v4('exclude-all', three, { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '0.0.0.0/0' }),
    v4('v6-egress', single, { ENABLE_V6_EGRESS: 'true' }),
    { name: 'ipv6', plan: compileHostPlan(ipv6Config(), exampleNode('ipv6')) },
  ];
}
