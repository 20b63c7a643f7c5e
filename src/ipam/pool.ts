/**
 * The datastore plus its checkpoint: every assignment change is on disk before the caller hears about it, and a
 * failed write undoes the change (no address is handed out that a restart would forget).
 */
import { writeCheckpoint } from './checkpoint.ts';
import type { Datastore, Lease, Owner, OwnerMetadata } from './datastore.ts';

export class AddressPool {
  readonly store: Datastore;
  readonly #path: string;
  #writes: Promise<void> = Promise.resolve();

  constructor(store: Datastore, checkpointPath: string) {
    this.store = store;
    this.#path = checkpointPath;
  }

  /** Assigns (idempotently) and persists; undefined when no address is free. */
  async assign(owner: Owner, metadata: OwnerMetadata, nowMs: number): Promise<Lease | undefined> {
    const existing = this.store.leaseOf(owner);
    if (existing !== undefined) return existing;
    const lease = this.store.assign(owner, metadata, nowMs);
    if (lease === undefined) return undefined;
    try {
      await this.persist();
    } catch (error) {
      this.store.forget(owner);
      throw new Error(`assign ${lease.ip}: checkpoint write failed, assignment undone`, { cause: error });
    }
    return lease;
  }

  /** Releases (idempotently) and persists; a failed write puts the owner back. */
  async release(owner: Owner, nowMs: number, ip?: string): Promise<Lease | undefined> {
    const lease = this.store.unassign(owner, nowMs, ip);
    if (lease === undefined) return undefined;
    try {
      await this.persist();
    } catch (error) {
      this.store.place(lease);
      throw new Error(`release ${lease.ip}: checkpoint write failed, assignment kept`, { cause: error });
    }
    return lease;
  }

  /** Writes the current assignments; writes are serialised so an older state never lands after a newer one. */
  persist(): Promise<void> {
    const write = this.#writes.then(() => writeCheckpoint(this.#path, this.store.leases()));
    this.#writes = write.catch(() => undefined);
    return write;
  }
}
