import type { TaskRecord } from '../task.js';

/**
 * Where task records live beyond the leader's memory. Every task state change is written
 * here before the leader acts on it or answers; heartbeats never are.
 *
 * The contract a durable implementation must keep:
 * - `save` resolves only once every record in the batch is durable, and applies the
 *   batch atomically: after a crash either all of it or none of it is there.
 * - `loadAll` returns every saved record in creation order (`seq`); a leader rebuilt from
 *   it has the same ids, attempts, results and queue order (`queueSeq`).
 */
export interface TaskStore {
  /** Every persisted task, ordered by `seq`. */
  loadAll(): Promise<TaskRecord[]>;
  /** Persists the current version of each record (insert or replace), atomically. */
  save(records: readonly TaskRecord[]): Promise<void>;
  /** Deletes finished tasks that were pruned (retention); atomically, like `save`. */
  remove(records: readonly TaskRecord[]): Promise<void>;
  /** Releases the store (closes files). */
  close(): Promise<void>;
}

/** A store the leader must not use (locked, corrupt, too new); the message says why. */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}
