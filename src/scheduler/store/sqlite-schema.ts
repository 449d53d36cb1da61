/**
 * The SQLite schema, as the list of migrations that build it. `PRAGMA user_version` holds
 * how many have been applied; a leader applies the missing ones, in order, in one
 * transaction, before it reads anything. Append only: never edit a released migration.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the task list.
  // seq is the rowid: updates find a row by it without a second index.
  `CREATE TABLE tasks (
     seq              INTEGER PRIMARY KEY,
     id               TEXT NOT NULL UNIQUE,
     queue_seq        INTEGER NOT NULL,
     kind             TEXT NOT NULL,
     payload          TEXT NOT NULL,
     priority         TEXT NOT NULL,
     target_member_id TEXT,
     status           TEXT NOT NULL,
     attempt          INTEGER NOT NULL,
     member_id        TEXT,
     result           TEXT,
     error            TEXT,
     created_at_ms    INTEGER NOT NULL,
     started_at_ms    INTEGER,
     finished_at_ms   INTEGER
   ) STRICT`,
  // 2: finished tasks by age, for retention pruning.
  `CREATE INDEX tasks_finished ON tasks (finished_at_ms) WHERE finished_at_ms IS NOT NULL`,
  // 3: no index on id. The leader keeps ids unique in memory and finds rows by seq; the
  // UNIQUE index cost a random B-tree insert per new task (measured: ~8 of ~22 µs of
  // SQLite CPU per task). SQLite cannot drop a column constraint, so the table is rebuilt.
  `CREATE TABLE tasks_v3 (
     seq              INTEGER PRIMARY KEY,
     id               TEXT NOT NULL,
     queue_seq        INTEGER NOT NULL,
     kind             TEXT NOT NULL,
     payload          TEXT NOT NULL,
     priority         TEXT NOT NULL,
     target_member_id TEXT,
     status           TEXT NOT NULL,
     attempt          INTEGER NOT NULL,
     member_id        TEXT,
     result           TEXT,
     error            TEXT,
     created_at_ms    INTEGER NOT NULL,
     started_at_ms    INTEGER,
     finished_at_ms   INTEGER
   ) STRICT;
   INSERT INTO tasks_v3 (seq, id, queue_seq, kind, payload, priority, target_member_id, status,
       attempt, member_id, result, error, created_at_ms, started_at_ms, finished_at_ms)
     SELECT seq, id, queue_seq, kind, payload, priority, target_member_id, status,
       attempt, member_id, result, error, created_at_ms, started_at_ms, finished_at_ms
     FROM tasks;
   DROP TABLE tasks;
   ALTER TABLE tasks_v3 RENAME TO tasks;
   CREATE INDEX tasks_finished ON tasks (finished_at_ms) WHERE finished_at_ms IS NOT NULL;`,
  // 4: retry policy and timeout per task (issue #6). Tasks from before get what the
  // leader's defaults were when this was written: 3 attempts, 1 s first backoff, no timeout.
  `ALTER TABLE tasks ADD COLUMN max_attempts INTEGER NOT NULL DEFAULT 3;
   ALTER TABLE tasks ADD COLUMN retry_backoff_ms INTEGER NOT NULL DEFAULT 1000;
   ALTER TABLE tasks ADD COLUMN timeout_ms INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE tasks ADD COLUMN attempt_ended INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE tasks ADD COLUMN retry_at_ms INTEGER;`,
  // 5: task output (command stdout/stderr, SDK log lines), so a restarted leader serves it.
  // Keyed by the task's seq; chunks are append-only at increasing offsets.
  `CREATE TABLE task_output (
     task_seq  INTEGER NOT NULL,
     offset    INTEGER NOT NULL,
     attempt   INTEGER NOT NULL,
     stream    TEXT NOT NULL,
     data      TEXT NOT NULL,
     truncated INTEGER NOT NULL,
     PRIMARY KEY (task_seq, offset)
   ) STRICT, WITHOUT ROWID`,
  // 6: issue #18: the run time a delayed task waits for (kept after), and the idempotency
  // key a task answers for, with when it stops holding (NULL: until the task finishes).
  // attempt_base: attempts before an operator's re-run of a failed task. Controls: leader
  // settings kept with the task list (pauses), JSON values by key.
  `ALTER TABLE tasks ADD COLUMN run_at_ms INTEGER;
   ALTER TABLE tasks ADD COLUMN idempotency_key TEXT;
   ALTER TABLE tasks ADD COLUMN idempotency_expires_at_ms INTEGER;
   ALTER TABLE tasks ADD COLUMN attempt_base INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE controls (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;`,
  // 7: issue #18: the concurrency key a task shares limits and turns with.
  `ALTER TABLE tasks ADD COLUMN concurrency_key TEXT;`,
  // 8: no index on finished_at_ms. Retention is decided in memory (the scheduler knows
  // every finished task and its age) and rows are deleted by seq, so no query ever read
  // it, while every task that finished paid a B-tree insert for it.
  `DROP INDEX IF EXISTS tasks_finished;`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;
