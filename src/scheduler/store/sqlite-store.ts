import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskRecord } from '../task.js';
import { MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import {
  StoreOpenError,
  type CommitObserver,
  type StoredControl,
  type StoredOutput,
  type TaskStore,
} from './store.js';
import { fromRow, type OutputRow, type TaskRow } from './task-row.js';
import { WriteGroup, type WriteBatch } from './write-group.js';

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
  /** Told of each group commit (the leader's metrics). */
  readonly onCommit?: CommitObserver;
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
  private readonly setControl: Database.Statement<[string, string]>;
  private readonly deleteControl: Database.Statement<[string]>;
  private readonly group: WriteGroup;

  constructor(options: SqliteStoreOptions) {
    makeDataDir(options.dataDir);
    const file = join(options.dataDir, DATABASE_FILE);
    this.db = openDatabase(file, options.sync ?? 'full');
    // Positional parameters, and a plain UPDATE by rowid for the common case (a task's
    // second and later changes): profiled, an upsert with named parameters cost ~10 µs/row.
    // The UPDATE leaves out what never changes after creation (kind, payload, run_at_ms...).
    this.insert = this.db.prepare<unknown[]>(
      `INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id, status,
         attempt, member_id, result, error, created_at_ms, started_at_ms, finished_at_ms,
         max_attempts, retry_backoff_ms, timeout_ms, attempt_ended, retry_at_ms, run_at_ms,
         idempotency_key, idempotency_expires_at_ms, attempt_base, concurrency_key)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.update = this.db.prepare<unknown[]>(
      `UPDATE tasks SET queue_seq = ?, status = ?, attempt = ?, member_id = ?, result = ?,
         error = ?, started_at_ms = ?, finished_at_ms = ?, attempt_ended = ?, retry_at_ms = ?,
         attempt_base = ?
       WHERE seq = ?`,
    );
    this.deleteOne = this.db.prepare<[number]>('DELETE FROM tasks WHERE seq = ?');
    this.insertOutput = this.db.prepare<unknown[]>(
      `INSERT OR REPLACE INTO task_output (task_seq, offset, attempt, stream, data, truncated)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.deleteOutput = this.db.prepare<[number]>('DELETE FROM task_output WHERE task_seq = ?');
    this.setControl = this.db.prepare<[string, string]>(
      'INSERT OR REPLACE INTO controls (key, value) VALUES (?, ?)',
    );
    this.deleteControl = this.db.prepare<[string]>('DELETE FROM controls WHERE key = ?');
    const writeBatch = this.db.transaction((batch: WriteBatch) => this.writeGroup(batch));
    this.group = new WriteGroup((batch) => writeBatch(batch), options.onCommit);
  }

  async loadAll(): Promise<TaskRecord[]> {
    return this.db.prepare<[], TaskRow>('SELECT * FROM tasks ORDER BY seq').all().map(fromRow);
  }

  save(records: readonly TaskRecord[]): Promise<void> {
    return this.group.save(records);
  }

  remove(records: readonly TaskRecord[]): Promise<void> {
    return this.group.remove(records);
  }

  saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    return this.group.saveOutput(chunks);
  }

  saveControls(controls: readonly StoredControl[]): Promise<void> {
    return this.group.saveControls(controls);
  }

  flushed(): Promise<void> {
    return this.group.flushed();
  }

  async loadControls(): Promise<{ key: string; value: string }[]> {
    return this.db
      .prepare<[], { key: string; value: string }>('SELECT key, value FROM controls ORDER BY key')
      .all();
  }

  async loadOutput(): Promise<StoredOutput[]> {
    return this.db
      .prepare<[], OutputRow>('SELECT * FROM task_output ORDER BY task_seq, offset')
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
  private writeGroup({ rows, deletes, output, controls }: WriteBatch): void {
    for (const { key, value } of controls) {
      if (value === undefined) this.deleteControl.run(key);
      else this.setControl.run(key, value);
    }
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
      r.attempt_base,
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
        r.run_at_ms,
        r.idempotency_key,
        r.idempotency_expires_at_ms,
        r.attempt_base,
        r.concurrency_key,
      );
    }
  }

  async close(): Promise<void> {
    await this.group.drain();
    this.db.close();
  }
}

/**
 * Creates the data directory and any parents, or throws a StoreOpenError that says which
 * part is wrong. One level at a time rather than `mkdirSync(dir, { recursive: true })`:
 * under a directory where mkdir fails with ENOENT whatever exists (/proc), Node's
 * recursive mkdir retries for ever, and the leader would spin without ever saying why.
 */
function makeDataDir(dir: string): void {
  const path = resolve(dir);
  const levels: string[] = [];
  for (let level = path; ; level = dirname(level)) {
    levels.unshift(level);
    if (dirname(level) === level) break;
  }
  for (const level of levels) {
    try {
      mkdirSync(level);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreOpenError(
          `cannot create the data directory ${path}: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (!statSync(level).isDirectory()) {
        throw new StoreOpenError(
          `cannot use ${path} as the data directory: ${level} is a file, not a directory`,
        );
      }
    }
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
  // SQLite says "disk I/O error" (or "readonly database") when it cannot write the file
  // or make its journal beside it; the file system says why.
  const unwritable = whyUnwritable(file);
  if (unwritable !== undefined) return `cannot use ${file}: ${unwritable}`;
  return `cannot use ${file}: ${message}`;
}

/** Why the file or its directory cannot be written (read-only, no permission), if so. */
function whyUnwritable(file: string): string | undefined {
  for (const path of [file, dirname(file)]) {
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EROFS') return `${path} is on a read-only file system`;
      if (code === 'EACCES') return `${path} is not writable by this process`;
    }
  }
  return undefined;
}
