/**
 * The PostgreSQL schema, as the list of migrations that build it, applied in order inside
 * the store's own schema (`drover` unless configured). `migrations` records which have
 * run; a leader applies the missing ones in one transaction under an advisory lock (so
 * leaders starting together do not race) before it reads anything. Append only: never
 * edit a released migration.
 *
 * Times are epoch milliseconds (bigint) as in the records, not timestamptz: the leader's
 * clock is the one that matters, and a conversion per row on the hot path buys nothing.
 */
export const PG_MIGRATIONS: readonly { readonly name: string; readonly sql: string }[] = [
  {
    name: 'task list and output',
    sql: `
      CREATE TABLE tasks (
        seq              bigint PRIMARY KEY,
        id               text NOT NULL,
        queue_seq        bigint NOT NULL,
        kind             text NOT NULL,
        payload          bytea NOT NULL,
        priority         text NOT NULL,
        target_member_id text,
        status           text NOT NULL,
        attempt          integer NOT NULL,
        member_id        text,
        result           bytea,
        error            bytea,
        created_at_ms    bigint NOT NULL,
        started_at_ms    bigint,
        finished_at_ms   bigint,
        max_attempts     integer NOT NULL,
        retry_backoff_ms bigint NOT NULL,
        timeout_ms       bigint NOT NULL,
        attempt_ended    boolean NOT NULL,
        retry_at_ms      bigint
      );
      CREATE TABLE task_output (
        task_seq  bigint NOT NULL,
        "offset"  bigint NOT NULL,
        attempt   integer NOT NULL,
        stream    text NOT NULL,
        data      bytea NOT NULL,
        truncated boolean NOT NULL,
        PRIMARY KEY (task_seq, "offset")
      );`,
  },
  {
    // Issue #16: leaders on one database elect one active leader through this one row. The
    // term only grows; every write of the active leader checks it (fencing), and expiry is
    // PostgreSQL's clock, the one clock all leaders share.
    name: 'leader lease and leader list',
    sql: `
      CREATE TABLE leader_lease (
        id           smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
        term         bigint NOT NULL,
        holder       text NOT NULL,
        address      text NOT NULL,
        http_address text,
        acquired_at  timestamptz NOT NULL,
        renewed_at   timestamptz NOT NULL,
        expires_at   timestamptz NOT NULL
      );
      CREATE TABLE leaders (
        id           text PRIMARY KEY,
        address      text NOT NULL,
        http_address text,
        started_at   timestamptz NOT NULL,
        seen_at      timestamptz NOT NULL
      );`,
  },
];

/** The schema version this drover writes: the number of migrations. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
