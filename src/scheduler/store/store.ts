import type { OutputChunk } from '../task-output.js';
import type { TaskRecord } from '../task.js';

/** A chunk of a task's output as stored: keyed by the task's `seq`. */
export interface StoredOutput {
  readonly taskSeq: number;
  readonly chunk: OutputChunk;
}

/**
 * A leader setting kept with the task list (a pause of a kind; the issue #18 limits and
 * schedules to come): a key and its JSON value. Saving one with `value` undefined deletes it.
 */
export interface StoredControl {
  readonly key: string;
  readonly value: string | undefined;
}

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
  /** Deletes finished tasks that were pruned (retention), with their output; atomically. */
  remove(records: readonly TaskRecord[]): Promise<void>;
  /**
   * Appends output chunks, grouped with the other writes of the turn. Output is kept so a
   * restarted leader still serves it; nothing waits on it but a failure is a store failure.
   */
  saveOutput(chunks: readonly StoredOutput[]): Promise<void>;
  /** Every stored output chunk, by task `seq` then offset. */
  loadOutput(): Promise<StoredOutput[]>;
  /**
   * Sets or deletes controls, atomically and in order with the other writes of the turn
   * (a pause saved after a task change lands after it).
   */
  saveControls(controls: readonly StoredControl[]): Promise<void>;
  /** Every stored control, by key. */
  loadControls(): Promise<{ key: string; value: string }[]>;
  /**
   * Resolves once every write asked for before it has landed, writing nothing itself: an
   * answer that promises an earlier change ("that task exists") waits on it.
   */
  flushed(): Promise<void>;
  /** Releases the store (closes files). */
  close(): Promise<void>;
}

/**
 * Told of each group commit once it landed: how many task records it wrote and how long
 * the write took, from the transaction's start to the commit being durable (metrics).
 */
export type CommitObserver = (tasks: number, commitMs: number) => void;

/** A store the leader must not use (locked, corrupt, too new); the message says why. */
export class StoreOpenError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreOpenError';
  }
}

/**
 * A write refused because this leader's term is over: a newer leader holds the lease. The
 * write changed nothing; this leader must stop acting as the leader.
 */
export class FencedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FencedError';
  }
}
