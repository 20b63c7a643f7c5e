/**
 * What happens in the agent, as typed events: the handlers, loops and drift repair publish; the logger, the metrics,
 * the Kubernetes Events and the introspection endpoint subscribe. A subscriber that throws is counted, never allowed to
 * stop the publisher (an ADD must not fail because an Event could not be posted).
 */
import type { ShortageReason } from '../lib/shortage.ts';

export type AgentEvent =
  | {
      readonly kind: 'add';
      readonly pod: PodRef | undefined;
      readonly ms: number;
      readonly ok: boolean;
      /** The IPAM reason when no address could be had (the pod's Warning Event carries it). */
      readonly shortage?: ShortageReason;
      readonly error?: string;
    }
  | { readonly kind: 'del'; readonly pod: PodRef | undefined; readonly ms: number; readonly ok: boolean }
  | {
      readonly kind: 'drift-repaired';
      /** One line per object put back ('route 10.0.1.7 dev eni1a2b… restored'). */
      readonly restored: readonly string[];
      readonly detectionToRepairMs: number;
    }
  | { readonly kind: 'loop-ok'; readonly loop: string; readonly ms: number }
  | { readonly kind: 'loop-failed'; readonly loop: string; readonly error: string; readonly consecutive: number }
  | { readonly kind: 'ready'; readonly timeToReadyMs: number }
  | { readonly kind: 'ec2-call'; readonly action: string; readonly ms: number; readonly error?: string }
  | {
      readonly kind: 'config-changed';
      readonly applied: readonly string[];
      readonly pendingRecycle: readonly string[];
    }
  | { readonly kind: 'config-refused'; readonly problems: readonly string[] }
  | {
      /**
       * The node's pod capacity as the Kubernetes side published it (src/agent/kube/capacity.ts), each time it or the
       * kubelet's maxPods changes: `doctor` and `status` keep the latest; `mismatch` is the finding with its fix.
       */
      readonly kind: 'pod-capacity';
      readonly capacity: number;
      readonly maxPods: number;
      readonly kubeletMaxPods: number | undefined;
      readonly mismatch?: string;
    };

export interface PodRef {
  readonly namespace: string;
  readonly name: string;
}

export type AgentEventKind = AgentEvent['kind'];
type Listener = (event: AgentEvent) => void;

export class AgentBus {
  readonly #listeners = new Set<Listener>();
  #listenerFailures = 0;

  publish(event: AgentEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        this.#listenerFailures++;
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listenerFailures(): number {
    return this.#listenerFailures;
  }
}
