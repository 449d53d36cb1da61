import type { TaskRecord } from '../task.js';
import type { CommitObserver, StoredControl, StoredOutput } from './store.js';
import { toRow, type TaskRow } from './task-row.js';

/** One group commit's worth of changes. */
export interface WriteBatch {
  /** The latest version of each saved task, in the order first saved. */
  readonly rows: readonly TaskRow[];
  /** Seqs of tasks removed (pruned or deleted); applied after the output inserts. */
  readonly deletes: readonly number[];
  readonly output: readonly StoredOutput[];
  /** Controls set (value) or deleted (undefined), the last of each key in the turn. */
  readonly controls: readonly StoredControl[];
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for the SQL stores: every change of one event-loop turn goes into one
 * transaction, written on the next turn, and every caller's promise settles with it. A
 * write still in flight (PostgreSQL's are asynchronous) is never overlapped: changes made
 * meanwhile form the next group, written as soon as it lands, in order. Rows are copied
 * when saved, so what is written is what was saved, not what the record became since.
 */
export class WriteGroup {
  private rows = new Map<string, TaskRow>();
  private deletes: number[] = [];
  private output: StoredOutput[] = [];
  private controls = new Map<string, string | undefined>();
  private waiters: Waiter[] = [];
  private scheduled = false;
  private inFlight: Promise<void> | undefined;
  /** The write in flight as it ends: rejects if it failed (for flushed()). */
  private inFlightOutcome: Promise<void> | undefined;

  /**
   * `write` applies one batch atomically, or throws and applies none of it; `onCommit` is
   * told of each batch written (task rows, and how long the write took).
   */
  constructor(
    private readonly write: (batch: WriteBatch) => void | Promise<void>,
    private readonly onCommit?: CommitObserver,
  ) {}

  /** Saves the current version of each record (a later save of one replaces an earlier). */
  save(records: readonly TaskRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    for (const record of records) this.rows.set(record.id, toRow(record));
    return this.enqueued();
  }

  /** Removes tasks (and their output). */
  remove(records: readonly TaskRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    for (const record of records) {
      this.rows.delete(record.id);
      this.deletes.push(record.seq);
    }
    return this.enqueued();
  }

  /** Appends output chunks. */
  saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    if (chunks.length === 0) return Promise.resolve();
    for (const { taskSeq, chunk } of chunks) this.output.push({ taskSeq, chunk: { ...chunk } });
    return this.enqueued();
  }

  /** Sets or deletes controls (a later one of a key replaces an earlier). */
  saveControls(controls: readonly StoredControl[]): Promise<void> {
    if (controls.length === 0) return Promise.resolve();
    for (const { key, value } of controls) this.controls.set(key, value);
    return this.enqueued();
  }

  /**
   * Resolves once every write asked for so far has landed: with the group being gathered
   * (it is asked for already, and lands after any in flight), or with the one in flight.
   * Nothing is written for it.
   */
  flushed(): Promise<void> {
    if (this.waiters.length > 0) return this.enqueued();
    return this.inFlightOutcome ?? Promise.resolve();
  }

  /** Writes what is pending now and waits for every write to land (for close). */
  async drain(): Promise<void> {
    // Bounded: each round takes everything pending, and nothing new comes during close.
    for (let round = 0; round < 3 && (this.inFlight || this.waiters.length > 0); round++) {
      await this.inFlight;
      if (this.waiters.length > 0) await this.flush();
    }
  }

  private enqueued(): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.schedule();
    return settled;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight) return;
    this.scheduled = true;
    // Group commit: the rest of this turn's changes join the batch. (Holding commits back
    // for a few ms to make them bigger was measured: it lowered throughput and raised
    // latency, since each task waits on two commits.)
    setImmediate(() => {
      this.scheduled = false;
      // drain() may have written this turn's changes already.
      if (this.waiters.length > 0 && !this.inFlight) void this.flush();
    });
  }

  /**
   * Tells the observer of a commit of task rows (one of output or controls alone is not a
   * task commit). After the waiters: a failing observer must not make a durable write look
   * failed, so its error is dropped.
   */
  private observe(tasks: number, ms: number): void {
    if (tasks === 0 || this.onCommit === undefined) return;
    try {
      this.onCommit(tasks, ms);
    } catch {
      // Metrics only; the write itself landed.
    }
  }

  private async flush(): Promise<void> {
    const batch: WriteBatch = {
      rows: [...this.rows.values()],
      deletes: this.deletes,
      output: this.output,
      controls: [...this.controls].map(([key, value]) => ({ key, value })),
    };
    const waiters = this.waiters;
    this.rows = new Map();
    this.deletes = [];
    this.output = [];
    this.controls = new Map();
    this.waiters = [];
    const startedMs = performance.now();
    const written = (async () => this.write(batch))();
    this.inFlight = written.then(
      () => {},
      () => {},
    );
    const outcome = written.then(() => {});
    // Handled here so a failure nobody waits on is no unhandled rejection; a flushed()
    // caller awaiting `outcome` still sees it.
    outcome.catch(() => {});
    this.inFlightOutcome = outcome;
    try {
      await written;
      for (const waiter of waiters) waiter.resolve();
      this.observe(batch.rows.length, performance.now() - startedMs);
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
    } finally {
      this.inFlight = undefined;
      this.inFlightOutcome = undefined;
      if (this.waiters.length > 0) this.schedule();
    }
  }
}
