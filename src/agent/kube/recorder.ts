/**
 * Posts the Events the correlator decides, one request at a time from a bounded queue: recording an Event never
 * waits on the API server and never fails its caller (an ADD must not fail because an Event could not be posted).
 * Dropped and failed writes are counted for the metrics and `status`.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import { EventCorrelator, type EventSpec, type EventWrite } from './correlate.ts';

/** Writes waiting beyond this are dropped: during an outage of the API server the agent's memory stays flat. */
const QUEUE_LIMIT = 256;
export const COMPONENT = 'vpc-cni';

export interface RecorderStats {
  readonly written: number;
  readonly filtered: number;
  readonly dropped: number;
  readonly failed: number;
}

export class EventRecorder {
  readonly #client: KubeClient;
  readonly #host: string;
  readonly #correlator = new EventCorrelator();
  readonly #queue: EventWrite[] = [];
  readonly #onError: (message: string) => void;
  #running: Promise<void> | undefined;
  #stats = { written: 0, filtered: 0, dropped: 0, failed: 0 };

  constructor(client: KubeClient, host: string, onError: (message: string) => void) {
    this.#client = client;
    this.#host = host;
    this.#onError = onError;
  }

  record(spec: EventSpec): void {
    const write = this.#correlator.observe(spec, Date.now());
    if (write === undefined) {
      this.#stats.filtered++;
      return;
    }
    if (this.#queue.length >= QUEUE_LIMIT) {
      this.#stats.dropped++;
      return;
    }
    this.#queue.push(write);
    this.#running ??= this.#drain().finally(() => {
      this.#running = undefined;
    });
  }

  get stats(): RecorderStats {
    return { ...this.#stats };
  }

  /**
   * Resolves once every queued write has been tried, or after `withinMs`: an API server that does not answer must not
   * hold up the agent's SIGTERM (what is left is dropped with the process).
   */
  async flush(withinMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, withinMs);
    });
    const drained = (async () => {
      while (this.#running !== undefined) await this.#running;
    })();
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
  }

  async #drain(): Promise<void> {
    for (let write = this.#queue.shift(); write !== undefined; write = this.#queue.shift()) {
      try {
        await this.#send(write);
        this.#stats.written++;
      } catch (error) {
        this.#stats.failed++;
        this.#onError(
          `event ${write.spec.reason} on ${write.spec.object.kind} ${write.spec.object.name}: ${String(error).slice(0, 300)}`,
        );
      }
    }
  }

  async #send(write: EventWrite): Promise<void> {
    const at = new Date(write.atMs);
    if (write.verb === 'patch') {
      try {
        await this.#client.core.patchNamespacedEvent(
          {
            name: write.name,
            namespace: write.namespace,
            body: { count: write.count, lastTimestamp: at.toISOString(), message: write.spec.message },
          },
          this.#client.mergePatch,
        );
        return;
      } catch (error) {
        // The API server expires Events (an hour by default): the occurrence starts a new one.
        if ((error as { code?: unknown }).code !== 404) throw error;
        this.#correlator.forget(write.name);
      }
    }
    await this.#client.core.createNamespacedEvent({ namespace: write.namespace, body: this.#body(write, at) });
  }

  #body(write: EventWrite, at: Date): CoreV1Event {
    const { object, type, reason, message } = write.spec;
    return {
      metadata: { name: write.name, namespace: write.namespace },
      involvedObject: {
        apiVersion: 'v1',
        kind: object.kind,
        name: object.name,
        ...(object.namespace === undefined ? {} : { namespace: object.namespace }),
        ...(object.uid === undefined ? {} : { uid: object.uid }),
      },
      type,
      reason,
      message,
      count: write.verb === 'patch' ? write.count : 1,
      firstTimestamp: at,
      lastTimestamp: at,
      source: { component: COMPONENT, host: this.#host },
      reportingComponent: COMPONENT,
      reportingInstance: this.#host,
    };
  }
}
