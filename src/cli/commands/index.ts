import type { Command } from '../command.ts';

/**
 * One line of `vpc-cni --help` and the way to load its command. Modules load only when their command runs: the
 * Kubernetes client, the AWS SDK and the CUE WebAssembly would otherwise be paid for by `--help` and `max-pods`.
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

/** Every subcommand, in the order `vpc-cni --help` lists them. Each command lives in its own module. */
export const commands: readonly CommandEntry[] = [
  {
    name: 'validate',
    summary: 'check the configuration (environment, env file, ConfigMap) and report every problem',
    load: async () => (await import('./validate.ts')).validate,
  },
  {
    name: 'config',
    summary: 'print the effective configuration and where each value came from',
    load: async () => (await import('./config.ts')).config,
  },
  {
    name: 'max-pods',
    summary: 'the kubelet --max-pods value for an instance type',
    load: async () => (await import('./max-pods.ts')).maxPods,
  },
  {
    name: 'simulate',
    summary: "run the IPAM engine against the built-in simulator: a policy's ENIs, addresses and EC2 calls for N pods",
    load: async () => (await import('./simulate.ts')).simulate,
  },
  {
    name: 'node-facts',
    summary: 'read this node from IMDS (+ interface names by MAC) and write a node snapshot',
    load: async () => (await import('./node-facts.ts')).nodeFacts,
  },
  {
    name: 'plan',
    summary: 'show what `apply` would change on this node (host routes, rules, iptables, nftables, sysctls)',
    load: async () => (await import('./plan.ts')).plan,
  },
  {
    name: 'apply',
    summary: 'make the node match the plan: batched writes, verify, automatic rollback on failure',
    load: async () => (await import('./apply.ts')).apply,
  },
  {
    name: 'install-cni',
    summary: 'install the aws-cni plugin (one executable, no Node.js needed on the host) and 10-aws.conflist',
    load: async () => (await import('./install-cni.ts')).installCniCommand,
  },
  {
    name: 'agent',
    summary: 'run the node agent: IPAM over the plugin socket, host network, warm pool (the DaemonSet process)',
    load: async () => (await import('./agent.ts')).agentCommand,
  },
  {
    name: 'status',
    summary:
      "ask this node's agent how it is: ready or why not, the pool per ENI, its loops, changes pending a recycle",
    load: async () => (await import('./status.ts')).status,
  },
  {
    name: 'explain',
    summary: "explain a pod's networking: address, ENI, route table, rules, SNAT path, and whether the kernel matches",
    load: async () => (await import('./explain.ts')).explain,
  },
  {
    name: 'doctor',
    summary:
      'check the node for what breaks pods (rp_filter, MTU, iptables backend, IMDS vs EC2, subnets...), with fixes',
    load: async () => (await import('./doctor.ts')).doctor,
  },
  {
    name: 'demo',
    summary: 'the whole pod path on this machine: simulated node in namespaces, the agent, pods wired and pinging',
    load: async () => (await import('./demo.ts')).demo,
  },
];
