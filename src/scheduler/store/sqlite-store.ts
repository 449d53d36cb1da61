import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MemberId, TaskId } from '../../shared/ids.js';
import type { Priority, TaskRecord, TaskStatus } from '../task.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import { StoreOpenError, type StoredOutput, type TaskStore } from './store.js';

/** The file a leader keeps its task list in, inside its data directory. */
export const DATABASE_FILE = 'drover.sqlite';

/**
 * PRAGMA application_id of a drover database ("drvr"), so a leader pointed at some other
 * SQLite file refuses it instead of adding its tables to it.
 */
const APPLICATION_ID = 0x64727672;

/** How far SQLite goes to make a commit survive: `full` fsyncs every commit. */
export type SyncMode = 'full' | 'normal';

export interface SqliteStoreOptions {
  readonly dataDir: string;
  /**
   * `full` (default): a commit survives power loss. `normal`: it survives the leader
   * crashing (SIGKILL), not the machine; faster.
   */
  readonly sync?: SyncMode;
}

/** A task row as stored: the record's fields under their column names. */
interface TaskRow {
  id: string;
  seq: number;
  queue_seq: number;
  kind: string;
  payload: string;
  priority: string;
  target_member_id: string | null;
  status: string;
  attempt: number;
  member_id: string | null;
  result: string | null;
  error: string | null;
  created_at_ms: number;
  started_at_ms: number | null;
  finished_at_ms: number | null;
  max_attempts: number;
  retry_backoff_ms: number;
  timeout_ms: number;
  attempt_ended: number;
  retry_at_ms: number | null;
}

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The durable task store: SQLite (better-sqlite3) in WAL mode, one file in the data
 * directory, held with an exclusive lock so a second leader cannot open it.
 *
 * Writes are grouped: every `save` of one event-loop turn goes into one transaction,
 * committed on the next turn, and all of them resolve together once it is committed.
 * Rows are copied when `save` is called, so what is written is what was saved.
 */
export class SqliteTaskStore implements TaskStore {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<unknown[]>;
  private readonly update: Database.Statement<unknown[]>;
  private readonly deleteOne: Database.Statement<[number]>;
  private readonly insertOutput: Database.Statement<unknown[]>;
  private readonly deleteOutput: Database.Statement<[number]>;
  private readonly writeBatch: (
    rows: readonly TaskRow[],
    deletes: readonly number[],
    output: readonly StoredOutput[],
  ) => void;
  private pendingOutput: StoredOutput[] = [];
  private pendingRows = new Map<string, TaskRow>();
  /** The seqs (rowids) of pruned tasks. */
  private pendingDeletes: number[] = [];
  private waiters: Waiter[] = [];
  private flushScheduled = false;

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    const file = join(options.dataDir, DATABASE_FILE);
    this.db = openDatabase(file, options.sync ?? 'full');
    // Positional parameters, and a plain UPDATE by rowid for the common case (a task's
    // second and later changes): profiled, an upsert with named parameters cost ~10 µs/row.
    this.insert = this.db.prepare<unknown[]>(
      `INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id, status,
         attempt, member_id, result, error, created_at_ms, started_at_ms, finished_at_ms,
         max_attempts, retry_backoff_ms, timeout_ms, attempt_ended, retry_at_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.update = this.db.prepare<unknown[]>(
      `UPDATE tasks SET queue_seq = ?, status = ?, attempt = ?, member_id = ?, result = ?,
         error = ?, started_at_ms = ?, finished_at_ms = ?, attempt_ended = ?, retry_at_ms = ?
       WHERE seq = ?`,
    );
    this.deleteOne = this.db.prepare<[number]>('DELETE FROM tasks WHERE seq = ?');
    this.insertOutput = this.db.prepare<unknown[]>(
      `INSERT OR REPLACE INTO task_output (task_seq, offset, attempt, stream, data, truncated)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.deleteOutput = this.db.prepare<[number]>('DELETE FROM task_output WHERE task_seq = ?');
    this.writeBatch = this.db.transaction(
      (rows: readonly TaskRow[], deletes: readonly number[], output: readonly StoredOutput[]) =>
        this.writeGroup(rows, deletes, output),
    );
  }

  async loadAll(): Promise<TaskRecord[]> {
    return this.db.prepare<[], TaskRow>('SELECT * FROM tasks ORDER BY seq').all().map(fromRow);
  }

  save(records: readonly TaskRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    // Later versions of a record replace earlier ones within the same group.
    for (const record of records) this.pendingRows.set(record.id, toRow(record));
    return this.enqueued();
  }

  remove(records: readonly TaskRecord[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    for (const record of records) {
      this.pendingRows.delete(record.id);
      this.pendingDeletes.push(record.seq);
    }
    return this.enqueued();
  }

  saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    if (chunks.length === 0) return Promise.resolve();
    for (const { taskSeq, chunk } of chunks)
      this.pendingOutput.push({ taskSeq, chunk: { ...chunk } });
    return this.enqueued();
  }

  async loadOutput(): Promise<StoredOutput[]> {
    return this.db
      .prepare<
        [],
        {
          task_seq: number;
          offset: number;
          attempt: number;
          stream: string;
          data: string;
          truncated: number;
        }
      >('SELECT * FROM task_output ORDER BY task_seq, offset')
      .all()
      .map((row) => ({
        taskSeq: row.task_seq,
        chunk: {
          offset: row.offset,
          attempt: row.attempt,
          stream: row.stream,
          data: row.data,
          truncated: row.truncated === 1,
        },
      }));
  }

  /** One group commit's writes; runs inside the writeBatch transaction. */
  private writeGroup(
    rows: readonly TaskRow[],
    deletes: readonly number[],
    output: readonly StoredOutput[],
  ): void {
    for (const r of rows) this.writeRow(r);
    for (const { taskSeq, chunk } of output) {
      this.insertOutput.run(
        taskSeq,
        chunk.offset,
        chunk.attempt,
        chunk.stream,
        chunk.data,
        chunk.truncated ? 1 : 0,
      );
    }
    // After the output inserts: a task pruned in the same turn loses all of it.
    for (const seq of deletes) {
      this.deleteOne.run(seq);
      this.deleteOutput.run(seq);
    }
  }

  /** Updates the task's row, or inserts it if it has none yet. */
  private writeRow(r: TaskRow): void {
    const changed = this.update.run(
      r.queue_seq,
      r.status,
      r.attempt,
      r.member_id,
      r.result,
      r.error,
      r.started_at_ms,
      r.finished_at_ms,
      r.attempt_ended,
      r.retry_at_ms,
      r.seq,
    ).changes;
    if (changed === 0) {
      this.insert.run(
        r.seq,
        r.id,
        r.queue_seq,
        r.kind,
        r.payload,
        r.priority,
        r.target_member_id,
        r.status,
        r.attempt,
        r.member_id,
        r.result,
        r.error,
        r.created_at_ms,
        r.started_at_ms,
        r.finished_at_ms,
        r.max_attempts,
        r.retry_backoff_ms,
        r.timeout_ms,
        r.attempt_ended,
        r.retry_at_ms,
      );
    }
  }

  /** A promise for the next group commit, which it schedules if none is. */
  private enqueued(): Promise<void> {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Group commit: every change of this event-loop turn goes in one transaction on the
      // next turn. (Holding commits back for a few ms to make them bigger was measured:
      // it lowered throughput and raised latency, since each task waits on two commits.)
      setImmediate(() => this.flush());
    }
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.flushScheduled) this.flush();
    this.db.close();
  }

  private flush(): void {
    this.flushScheduled = false;
    const rows = [...this.pendingRows.values()];
    const deletes = this.pendingDeletes;
    const output = this.pendingOutput;
    const waiters = this.waiters;
    this.pendingRows = new Map();
    this.pendingDeletes = [];
    this.pendingOutput = [];
    this.waiters = [];
    try {
      this.writeBatch(rows, deletes, output);
    } catch (err) {
      for (const waiter of waiters) waiter.reject(err);
      return;
    }
    for (const waiter of waiters) waiter.resolve();
  }
}

/**
 * Opens the file, takes the exclusive lock and brings the schema up to date, or throws a
 * StoreOpenError that says what is wrong without having changed anything.
 */
function openDatabase(file: string, sync: SyncMode): Database.Database {
  let db: Database.Database;
  try {
    // timeout 0: a lock held by another leader fails at once instead of waiting.
    db = new Database(file, { timeout: 0 });
  } catch (err) {
    throw new StoreOpenError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // Exclusive locking: once taken (by the first write transaction below) the lock is
    // held until the leader exits, so a second leader on this directory fails at once.
    db.pragma('locking_mode = EXCLUSIVE');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreOpenError(
        `${file} has schema version ${version}, written by a newer drover; this version reads up to ${SCHEMA_VERSION}. Upgrade drover, or point --data-dir elsewhere.`,
      );
    }
    const applicationId = db.pragma('application_id', { simple: true }) as number;
    const foreign =
      applicationId !== APPLICATION_ID &&
      (applicationId !== 0 ||
        // Versions before the id was set: a drover file has a schema version; a foreign
        // one with tables has none.
        (version === 0 &&
          (db.prepare('SELECT count(*) FROM sqlite_master').pluck().get() as number) > 0));
    if (foreign) {
      throw new StoreOpenError(
        `${file} is an SQLite database but not drover's; point --data-dir at a directory of its own`,
      );
    }
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
    // The first write takes the lock (and checks the file is a database) before any change.
    db.exec('BEGIN EXCLUSIVE');
    try {
      for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok')
      throw new StoreOpenError(`${file} failed its integrity check: ${String(check)}`);
    return db;
  } catch (err) {
    db.close();
    if (err instanceof StoreOpenError) throw err;
    throw new StoreOpenError(describeOpenFailure(file, err), { cause: err });
  }
}

function describeOpenFailure(file: string, err: unknown): string {
  const code = (err as { code?: string }).code ?? '';
  const message = (err as Error).message;
  if (code.startsWith('SQLITE_BUSY')) {
    return `${file} is locked by another process (is another leader using this --data-dir?)`;
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return `${file} is not a drover database or is corrupt (${message}); move it aside or restore it from a backup`;
  }
  return `cannot use ${file}: ${message}`;
}

function toRow(r: TaskRecord): TaskRow {
  return {
    id: r.id,
    seq: r.seq,
    queue_seq: r.queueSeq,
    kind: r.kind,
    payload: r.payload,
    priority: r.priority,
    target_member_id: r.targetMemberId ?? null,
    status: r.status,
    attempt: r.attempt,
    member_id: r.memberId ?? null,
    result: r.result ?? null,
    error: r.error ?? null,
    created_at_ms: r.createdAtMs,
    started_at_ms: r.startedAtMs ?? null,
    finished_at_ms: r.finishedAtMs ?? null,
    max_attempts: r.maxAttempts,
    retry_backoff_ms: r.retryBackoffMs,
    timeout_ms: r.timeoutMs,
    attempt_ended: r.attemptEnded ? 1 : 0,
    retry_at_ms: r.retryAtMs ?? null,
  };
}

function fromRow(row: TaskRow): TaskRecord {
  return {
    id: row.id as TaskId,
    kind: row.kind,
    payload: row.payload,
    priority: row.priority as Priority,
    targetMemberId: (row.target_member_id ?? undefined) as MemberId | undefined,
    maxAttempts: row.max_attempts,
    retryBackoffMs: row.retry_backoff_ms,
    timeoutMs: row.timeout_ms,
    seq: row.seq,
    queueSeq: row.queue_seq,
    status: row.status as TaskStatus,
    attempt: row.attempt,
    memberId: (row.member_id ?? undefined) as MemberId | undefined,
    result: row.result ?? undefined,
    error: row.error ?? undefined,
    attemptEnded: row.attempt_ended === 1,
    retryAtMs: row.retry_at_ms ?? undefined,
    createdAtMs: row.created_at_ms,
    startedAtMs: row.started_at_ms ?? undefined,
    finishedAtMs: row.finished_at_ms ?? undefined,
  };
}
