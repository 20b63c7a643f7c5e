/**
 * The agent's Kubernetes side as an AgentExtension (the watches and writes are node-watch.ts). The CLI adds it only
 * when Kubernetes is configured; client-node is imported when it starts, never when the agent merely loads.
 */
import type { AgentExtension } from '../view.ts';
import type { KubernetesOptions } from './node-watch.ts';

/** Kubernetes is reached only when told where: KUBECONFIG, or the service account of a pod (the DaemonSet). */
export function kubernetesConfigured(env: Readonly<Record<string, string | undefined>>): boolean {
  return Boolean(env.KUBECONFIG) || Boolean(env.KUBERNETES_SERVICE_HOST);
}

export function kubernetesExtension(o: KubernetesOptions): AgentExtension {
  return {
    name: 'kubernetes',
    async start(view) {
      const { startNodeWatch } = await import('./node-watch.ts');
      try {
        return startNodeWatch(view, o);
      } catch (error) {
        // A kubeconfig that cannot be read is the operator's to fix; the node still serves its pods meanwhile.
        o.log.error(`kubernetes: not started: ${(error as Error).message}`);
        return { stop: async () => undefined };
      }
    },
  };
}
