import { EventEmitter } from 'node:events';

/** The error an injected fault answers with: an EC2 error code, and the HTTP status that goes with it. */
export interface InjectedError {
  readonly code: string;
  readonly message?: string;
  readonly status?: number;
}

/** A 500 `InternalError`, which the SDK retries: the default, because it is what EC2 really answers on a bad day. */
export const INTERNAL_ERROR: InjectedError = {
  code: 'InternalError',
  message: 'An internal error has occurred (injected fault)',
  status: 500,
};

export type WatchDrop = 'end' | 'reset';

interface Rule {
  readonly action: string;
  /** Calls of `action` still to let through before failing (0 = fail the next one). */
  skip: number;
  /** When set, the rule sleeps until this action succeeds once. */
  armedBy: string | undefined;
  readonly error: InjectedError;
}

/**
 * Fault injection shared by the three servers: fail the Nth call of an EC2 action, fail an attach right after a
 * create (the path that leaks ENIs in careless agents), slow IMDS down, and cut Kubernetes watches.
 */
export class Faults {
  readonly #rules: Rule[] = [];
  readonly #events = new EventEmitter();
  imdsDelayMs = 0;
  #ec2Gate: { readonly gate: Promise<void>; readonly release: () => void } | undefined;
  #ec2HeldCount = 0;

  /** Fails the `nth` call of `action` from now on (1 = the next call); each rule fires once. */
  failNth(action: string, nth = 1, error: InjectedError = INTERNAL_ERROR): void {
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`failNth: nth must be an integer ≥ 1, got ${nth}`);
    this.#rules.push({ action, skip: nth - 1, armedBy: undefined, error });
  }

  /** The next `AttachNetworkInterface` after a successful `CreateNetworkInterface` fails. */
  failAttachAfterCreate(error: InjectedError = INTERNAL_ERROR): void {
    this.#rules.push({ action: 'AttachNetworkInterface', skip: 0, armedBy: 'CreateNetworkInterface', error });
  }

  /**
   * Holds every EC2 request (after authentication and throttling, before it runs) until `releaseEc2()`: an EC2 that
   * does not answer yet, to show what the agent does without it. `ec2Held` counts the requests waiting now.
   */
  holdEc2(): void {
    if (this.#ec2Gate !== undefined) return;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#ec2Gate = { gate, release };
  }

  releaseEc2(): void {
    this.#ec2Gate?.release();
    this.#ec2Gate = undefined;
  }

  get ec2Held(): number {
    return this.#ec2HeldCount;
  }

  /** Called by the EC2 server before running an action: resolves once EC2 is not held. */
  async ec2Turn(): Promise<void> {
    const held = this.#ec2Gate;
    if (held === undefined) return;
    this.#ec2HeldCount++;
    try {
      await held.gate;
    } finally {
      this.#ec2HeldCount--;
    }
  }

  /** IMDS answers every request this much later (0 restores it). */
  delayImds(ms: number): void {
    this.imdsDelayMs = ms;
  }

  /**
   * Ends every open watch of one resource (e.g. `nodes`) or of all. `end` closes the stream cleanly, as the apiserver
   * does at a watch timeout (clients re-watch); `reset` cuts the connection, as a restart or a load balancer does
   * (client-node's informer reports an error and the owner must restart it).
   */
  dropWatches(resource?: string, how: WatchDrop = 'end'): void {
    this.#events.emit('drop-watches', resource, how);
  }

  onDropWatches(listener: (resource: string | undefined, how: WatchDrop) => void): () => void {
    this.#events.on('drop-watches', listener);
    return () => this.#events.off('drop-watches', listener);
  }

  clear(): void {
    this.#rules.length = 0;
    this.imdsDelayMs = 0;
    this.releaseEc2();
  }

  /** Called by the EC2 server before running `action`: the error to answer, if a rule fires. */
  take(action: string): InjectedError | undefined {
    const index = this.#rules.findIndex((rule) => rule.action === action && rule.armedBy === undefined);
    if (index < 0) return undefined;
    const rule = this.#rules[index]!;
    if (rule.skip > 0) {
      rule.skip -= 1;
      return undefined;
    }
    this.#rules.splice(index, 1);
    return rule.error;
  }

  /** Called after an action succeeded, to arm rules waiting for it. */
  succeeded(action: string): void {
    for (const rule of this.#rules) if (rule.armedBy === action) rule.armedBy = undefined;
  }
}
