/** One request as a simulator saw it. `outcome` is `ok` or the error code answered (`RequestLimitExceeded`, `401`…). */
export interface AuditEntry {
  readonly seq: number;
  readonly at: Date;
  readonly service: 'ec2' | 'imds' | 'kubernetes';
  /** EC2 action, `GET /latest/meta-data/mac`, or `list nodes` / `watch pods` / `patch nodes`. */
  readonly action: string;
  /**
   * EC2 request parameters (without Action/Version); for Kubernetes the request as RBAC names it (`verb`, `group`,
   * `resource`, `namespace`: see src/sim/kubernetes/server.ts), empty for discovery; empty for IMDS.
   */
  readonly params: Readonly<Record<string, string>>;
  readonly outcome: string;
  readonly status: number;
  readonly durationMs: number;
}

export interface AuditQuery {
  readonly service?: AuditEntry['service'];
  readonly action?: string;
  readonly outcome?: string;
  /** Only entries after this mark (from `mark()`). */
  readonly since?: number;
}

/**
 * Far more than any test makes (the 50-pod e2e runs make a few thousand), while a simulator left running for days
 * (`npm run sim`, answering an agent's loops) stays bounded: past it the oldest entries give way.
 */
export const DEFAULT_AUDIT_CAPACITY = 100_000;

/** Every call to every simulator, so tests can count EC2 calls per pod and see exactly what an agent did. */
export class AuditLog {
  readonly capacity: number;
  #entries: AuditEntry[] = [];
  #seq = 0;
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  constructor(capacity = DEFAULT_AUDIT_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`audit capacity ${capacity} is not ≥ 1`);
    this.capacity = capacity;
  }

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    const full = { ...entry, seq: ++this.#seq, at: new Date() };
    this.#entries.push(full);
    // Trimmed in slices of a quarter, so recording stays O(1) amortized rather than a shift per entry.
    if (this.#entries.length > this.capacity + Math.ceil(this.capacity / 4)) {
      this.#entries = this.#entries.slice(this.#entries.length - this.capacity);
    }
    for (const listener of this.#listeners) listener(full);
  }

  /** The sequence number of the last entry: pass it as `since` to look only at what follows. */
  mark(): number {
    return this.#seq;
  }

  /** Entries no longer kept (the oldest, once more than the capacity were recorded). */
  get dropped(): number {
    return this.#seq - this.#entries.length;
  }

  entries(query: AuditQuery = {}): AuditEntry[] {
    return this.#entries.filter(
      (entry) =>
        entry.seq > (query.since ?? 0) &&
        (query.service === undefined || entry.service === query.service) &&
        (query.action === undefined || entry.action === query.action) &&
        (query.outcome === undefined || entry.outcome === query.outcome),
    );
  }

  count(query: AuditQuery = {}): number {
    return this.entries(query).length;
  }

  onEntry(listener: (entry: AuditEntry) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
