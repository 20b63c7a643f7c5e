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

/** Every call to every simulator, so tests can count EC2 calls per pod and see exactly what an agent did. */
export class AuditLog {
  readonly #entries: AuditEntry[] = [];
  readonly #listeners = new Set<(entry: AuditEntry) => void>();

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): void {
    const full = { ...entry, seq: this.#entries.length + 1, at: new Date() };
    this.#entries.push(full);
    for (const listener of this.#listeners) listener(full);
  }

  /** The sequence number of the last entry: pass it as `since` to look only at what follows. */
  mark(): number {
    return this.#entries.length;
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
