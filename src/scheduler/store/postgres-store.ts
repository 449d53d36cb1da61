import pg from 'pg';
import type { TaskRecord } from '../task.js';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-schema.js';
import {
  FencedError,
  StoreOpenError,
  type CommitObserver,
  type StoredControl,
  type StoredOutput,
  type TaskStore,
} from './store.js';
import { booleanArray, numberArray, textArray } from './pg-arrays.js';
import { pgConnectHint } from './pg-connect-hint.js';
import { fromRow, type TaskRow } from './task-row.js';
import { WriteGroup, type WriteBatch } from './write-group.js';

/** Where the PostgreSQL store lives. */
export interface PostgresStoreOptions {
  /** A libpq connection URL (`postgres://user@host:5432/db`). */
  readonly url: string;
  /** The schema drover's tables live in, created if missing. */
  readonly schema?: string;
  /**
   * The term this store writes for (issue #16): every write transaction first checks that
   * the lease still holds this term and holder, and writes nothing if not (FencedError).
   * Without it (a solo leader) writes are not fenced.
   */
  readonly fence?: { readonly term: number; readonly holder: string };
  /** Told of each group commit (the leader's metrics). */
  readonly onCommit?: CommitObserver;
  /**
   * PostgreSQL ends this store's session when a write transaction sits idle this long (a
   * leader frozen mid-write). Fenced writes hold the lease row: without this, a leader
   * frozen inside a transaction would keep every standby from taking over.
   */
  readonly idleInTransactionTimeoutMs?: number;
}

/** The schema drover uses unless told otherwise. */
export const DEFAULT_PG_SCHEMA = 'drover';

/** The SQLSTATE write_batch raises when this leader's term is over. */
const FENCED_SQLSTATE = 'DRF01';

/** bigint (int8) values are epoch ms, seqs and offsets: all well inside 2^53. */
const INT8_OID = 20;

/**
 * The task store on PostgreSQL (node-postgres), for leaders that outgrow one machine's
 * disk or run as a highly available group on one database. Same contract as SQLite:
 * writes are grouped per event-loop turn into one transaction (WriteGroup), and a save
 * resolves only once PostgreSQL has committed it (synchronous_commit as the server says).
 *
 * Payloads, results, errors and output are `bytea`: they are arbitrary text, and text
 * columns refuse U+0000, which a command's output or a payload may hold.
 */
export class PostgresTaskStore implements TaskStore {
  private readonly group: WriteGroup;
  private closed = false;
  private readonly writeRowsSql: string;

  private constructor(
    private readonly client: pg.Client,
    private readonly schema: string,
    private readonly fence: PostgresStoreOptions['fence'],
    onCommit: CommitObserver | undefined,
  ) {
    this.group = new WriteGroup((batch) => this.write(batch), onCommit);
    const params = Array.from({ length: WRITE_ROWS_PARAMS }, (_, i) => `$${i + 1}`).join(', ');
    this.writeRowsSql = `SELECT ${pg.escapeIdentifier(schema)}.write_tasks(${params})`;
  }

  /**
   * Connects, creates the schema and applies missing migrations, or throws a
   * StoreOpenError that says what is wrong (unreachable, refused, too new) having changed
   * nothing.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresTaskStore> {
    const schema = options.schema ?? DEFAULT_PG_SCHEMA;
    const where = redactUrl(options.url);
    const client = new pg.Client({
      connectionString: options.url,
      application_name: 'drover-leader',
      types: { getTypeParser: typeParser },
      ...(options.idleInTransactionTimeoutMs === undefined
        ? {}
        : { idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs }),
    });
    try {
      await client.connect();
    } catch (err) {
      // A SQLSTATE means the server answered and refused (no such database, bad password).
      const refused = /^[0-9A-Z]{5}$/.test(String((err as { code?: unknown }).code));
      throw new StoreOpenError(
        refused
          ? `PostgreSQL at ${where} refused the connection: ${messageOf(err)}`
          : `cannot connect to PostgreSQL at ${where}: ${messageOf(err)}${pgConnectHint(err)}`,
        { cause: err },
      );
    }
    // A lost connection surfaces as a failed write (which stops the leader); without a
    // listener the 'error' event would crash the process first.
    client.on('error', () => {});
    try {
      await requireUtf8(client, where);
      await migratePostgres(client, schema);
    } catch (err) {
      await client.end().catch(() => {});
      if (err instanceof StoreOpenError) throw err;
      throw new StoreOpenError(`cannot use PostgreSQL at ${where}: ${messageOf(err)}`, {
        cause: err,
      });
    }
    return new PostgresTaskStore(client, schema, options.fence, options.onCommit);
  }

  async loadAll(): Promise<TaskRecord[]> {
    const { rows } = await this.client.query<PgTaskRow>(
      `SELECT seq, id, queue_seq, kind, payload, priority, target_member_id, status, attempt,
         member_id, result, error, created_at_ms, started_at_ms, finished_at_ms, max_attempts,
         retry_backoff_ms, timeout_ms, attempt_ended, retry_at_ms, run_at_ms, idempotency_key,
         idempotency_expires_at_ms, attempt_base, concurrency_key
       FROM ${this.table('tasks')} ORDER BY seq`,
    );
    return rows.map((row) =>
      fromRow({
        ...row,
        payload: row.payload.toString('utf8'),
        result: row.result?.toString('utf8') ?? null,
        error: row.error?.toString('utf8') ?? null,
        attempt_ended: row.attempt_ended ? 1 : 0,
      }),
    );
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
    const { rows } = await this.client.query<{ key: string; value: string }>(
      `SELECT key, value FROM ${this.table('controls')} ORDER BY key COLLATE "C"`,
    );
    return rows;
  }

  async loadOutput(): Promise<StoredOutput[]> {
    const { rows } = await this.client.query<{
      task_seq: number;
      offset: number;
      attempt: number;
      stream: string;
      data: Buffer;
      truncated: boolean;
    }>(`SELECT * FROM ${this.table('task_output')} ORDER BY task_seq, "offset"`);
    return rows.map((row) => ({
      taskSeq: row.task_seq,
      chunk: {
        offset: row.offset,
        attempt: row.attempt,
        stream: row.stream,
        data: row.data.toString('utf8'),
        truncated: row.truncated,
      },
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.group.drain();
    await this.client.end();
  }

  /**
   * One group commit in one round trip: write_tasks (migration 6) fences, upserts, appends
   * output and deletes inside the statement's own transaction. Fencing there reads the
   * lease row FOR SHARE, which holds it until the commit: a take-over (an UPDATE of the row)
   * waits for this write to finish, and a write that starts after a take-over committed
   * sees the new term and writes nothing (SQLSTATE DRF01).
   */
  private async write(batch: WriteBatch): Promise<void> {
    const fence = this.fence;
    try {
      // Named: PostgreSQL parses and plans it once per session, not once per group commit.
      await this.client.query({
        name: 'drover.write_tasks',
        text: this.writeRowsSql,
        values: [
          fence?.term ?? null,
          fence?.holder ?? null,
          ...rowColumns(batch.rows),
          batch.output.length === 0 ? null : JSON.stringify(batch.output.map(outputJson)),
          batch.controls.length === 0
            ? null
            : JSON.stringify(
                batch.controls.map(({ key, value }) => ({ key, value: value ?? null })),
              ),
          batch.deletes,
        ],
      });
    } catch (err) {
      if ((err as { code?: unknown }).code === FENCED_SQLSTATE) {
        throw new FencedError((err as Error).message);
      }
      throw err;
    }
  }

  private table(name: string): string {
    return `${pg.escapeIdentifier(this.schema)}.${name}`;
  }
}

/** A task row as PostgreSQL returns it (bytea as Buffer, boolean as boolean). */
type PgTaskRow = Omit<TaskRow, 'payload' | 'result' | 'error' | 'attempt_ended'> & {
  payload: Buffer;
  result: Buffer | null;
  error: Buffer | null;
  attempt_ended: boolean;
};

/**
 * Creates the schema and applies the missing migrations in one transaction, holding a
 * transaction-scoped advisory lock keyed by the schema so concurrent leaders take turns.
 */
export async function migratePostgres(client: pg.Client, schema: string): Promise<void> {
  const s = pg.escapeIdentifier(schema);
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`drover.migrate.${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      `SELECT max(version) AS version FROM ${s}.migrations`,
    );
    const version = rows[0]?.version ?? 0;
    if (version > PG_SCHEMA_VERSION) {
      throw new StoreOpenError(
        `PostgreSQL schema ${schema} has version ${version}, written by a newer drover; this version reads up to ${PG_SCHEMA_VERSION}. Upgrade drover, or use another --database-schema.`,
      );
    }
    await client.query(`SET LOCAL search_path TO ${s}`);
    for (let v = version; v < PG_SCHEMA_VERSION; v++) {
      const migration = PG_MIGRATIONS[v]!;
      await client.query(migration.sql);
      await client.query(`INSERT INTO ${s}.migrations (version, name) VALUES ($1, $2)`, [
        v + 1,
        migration.name,
      ]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/**
 * Refuses a database whose encoding is not UTF8: task ids, kinds and (as text, see
 * write_tasks) payloads, results and errors are any Unicode text, and a character the
 * database's encoding lacks would fail a group commit, which stops the leader. Refused at
 * start, with how to fix it, instead.
 */
async function requireUtf8(client: pg.Client, where: string): Promise<void> {
  const { rows } = await client.query<{ server_encoding: string }>('SHOW server_encoding');
  const encoding = rows[0]?.server_encoding ?? 'unknown';
  if (encoding !== 'UTF8') {
    throw new StoreOpenError(
      `the PostgreSQL database at ${where} is encoded ${encoding}; drover needs UTF8 (create one with CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0)`,
    );
  }
}

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8_OID) return (value: string) => Number(value);
  return pg.types.getTypeParser(oid, format as 'text');
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

function messageOf(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown } | null;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  return typeof e?.code === 'string' && !message.includes(e.code)
    ? `${message} (${e.code})`
    : message;
}

/** write_tasks's parameters: term, holder, 26 row columns, output, controls, deletes. */
const WRITE_ROWS_PARAMS = 31;

/**
 * The rows as write_tasks takes them: one array literal per column, in its parameter order.
 * A row whose payload, result or error holds U+0000 (which PostgreSQL text refuses) sends
 * those three as base64 and says so in the last array.
 */
function rowColumns(rows: readonly TaskRow[]): string[] {
  const base64Rows = rows.map((row) => holdsNul(row.payload, row.result, row.error));
  const text = (value: string | null, i: number): string | null =>
    value !== null && base64Rows[i] ? base64(value) : value;
  return [
    numberArray(rows.map((r) => r.seq)),
    textArray(rows.map((r) => r.id)),
    numberArray(rows.map((r) => r.queue_seq)),
    textArray(rows.map((r) => r.kind)),
    textArray(rows.map((r, i) => text(r.payload, i))),
    textArray(rows.map((r) => r.priority)),
    textArray(rows.map((r) => r.target_member_id)),
    textArray(rows.map((r) => r.status)),
    numberArray(rows.map((r) => r.attempt)),
    textArray(rows.map((r) => r.member_id)),
    textArray(rows.map((r, i) => text(r.result, i))),
    textArray(rows.map((r, i) => text(r.error, i))),
    numberArray(rows.map((r) => r.created_at_ms)),
    numberArray(rows.map((r) => r.started_at_ms)),
    numberArray(rows.map((r) => r.finished_at_ms)),
    numberArray(rows.map((r) => r.max_attempts)),
    numberArray(rows.map((r) => r.retry_backoff_ms)),
    numberArray(rows.map((r) => r.timeout_ms)),
    booleanArray(rows.map((r) => r.attempt_ended === 1)),
    numberArray(rows.map((r) => r.retry_at_ms)),
    numberArray(rows.map((r) => r.run_at_ms)),
    textArray(rows.map((r) => r.idempotency_key)),
    numberArray(rows.map((r) => r.idempotency_expires_at_ms)),
    numberArray(rows.map((r) => r.attempt_base)),
    textArray(rows.map((r) => r.concurrency_key)),
    booleanArray(base64Rows),
  ];
}

function holdsNul(...texts: (string | null)[]): boolean {
  return texts.some((text) => text !== null && text.includes('\u0000'));
}

function outputJson({ taskSeq, chunk }: StoredOutput): Record<string, unknown> {
  return {
    task_seq: taskSeq,
    offset: chunk.offset,
    attempt: chunk.attempt,
    stream: chunk.stream,
    data: base64(chunk.data),
    truncated: chunk.truncated,
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
