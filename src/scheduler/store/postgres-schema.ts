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
  {
    // One round trip per group commit instead of five: the leader sends the batch as JSON
    // (JSON.stringify is native; node-postgres's array literals were most of the store's
    // CPU) and this function fences, upserts, appends output and deletes in the one
    // statement's transaction. Text that may hold U+0000 travels as base64 (JSON text in
    // PostgreSQL refuses \u0000). search_path is pinned to the schema it was created in.
    name: 'write_batch: a group commit in one call',
    sql: `
      CREATE FUNCTION write_batch(p_term bigint, p_holder text, p_rows json, p_output json,
                                  p_deletes bigint[])
      RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
      DECLARE
        lease_term bigint;
        lease_holder text;
      BEGIN
        IF p_term IS NOT NULL THEN
          SELECT term, holder INTO lease_term, lease_holder
            FROM leader_lease WHERE id = 1 FOR SHARE;
          IF lease_term IS DISTINCT FROM p_term OR lease_holder IS DISTINCT FROM p_holder THEN
            RAISE EXCEPTION USING ERRCODE = 'DRF01',
              MESSAGE = format('this leader''s term %s is over: %s; nothing was written', p_term,
                CASE WHEN lease_term IS NULL THEN 'the lease is gone'
                     ELSE format('leader %s holds term %s', lease_holder, lease_term) END);
          END IF;
        END IF;
        INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id,
          status, attempt, member_id, result, error, created_at_ms, started_at_ms,
          finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended, retry_at_ms)
        SELECT r.seq, r.id, r.queue_seq, r.kind, decode(r.payload, 'base64'), r.priority,
          r.target_member_id, r.status, r.attempt, r.member_id, decode(r.result, 'base64'),
          decode(r.error, 'base64'), r.created_at_ms, r.started_at_ms, r.finished_at_ms,
          r.max_attempts, r.retry_backoff_ms, r.timeout_ms, r.attempt_ended, r.retry_at_ms
        FROM json_to_recordset(p_rows) AS r(seq bigint, id text, queue_seq bigint, kind text,
          payload text, priority text, target_member_id text, status text, attempt integer,
          member_id text, result text, error text, created_at_ms bigint, started_at_ms bigint,
          finished_at_ms bigint, max_attempts integer, retry_backoff_ms bigint,
          timeout_ms bigint, attempt_ended boolean, retry_at_ms bigint)
        ON CONFLICT (seq) DO UPDATE SET queue_seq = EXCLUDED.queue_seq,
          status = EXCLUDED.status, attempt = EXCLUDED.attempt, member_id = EXCLUDED.member_id,
          result = EXCLUDED.result, error = EXCLUDED.error,
          started_at_ms = EXCLUDED.started_at_ms, finished_at_ms = EXCLUDED.finished_at_ms,
          attempt_ended = EXCLUDED.attempt_ended, retry_at_ms = EXCLUDED.retry_at_ms;
        INSERT INTO task_output (task_seq, "offset", attempt, stream, data, truncated)
        SELECT o.task_seq, o."offset", o.attempt, o.stream, decode(o.data, 'base64'), o.truncated
        FROM json_to_recordset(p_output) AS o(task_seq bigint, "offset" bigint,
          attempt integer, stream text, data text, truncated boolean)
        ON CONFLICT (task_seq, "offset") DO UPDATE SET attempt = EXCLUDED.attempt,
          stream = EXCLUDED.stream, data = EXCLUDED.data, truncated = EXCLUDED.truncated;
        -- After the output inserts: a task pruned in the same turn loses all of it.
        IF cardinality(p_deletes) > 0 THEN
          DELETE FROM tasks WHERE seq = ANY (p_deletes);
          DELETE FROM task_output WHERE task_seq = ANY (p_deletes);
        END IF;
      END
      $fn$;`,
  },
  {
    // The task rows as one array per column instead of JSON objects: the leader spent ~11
    // µs of CPU per row building JSON (every key repeated per row, base64 for every text),
    // and PostgreSQL parses arrays faster than json_to_recordset. Payloads, results and
    // errors go as text unless one of them holds U+0000 (text refuses it): then that row's
    // three go as base64 and p_base64 says so. write_batch (migration 3) is no longer called
    // (a leader refuses a schema newer than it knows, so no older one writes here); it
    // stays, and its fence and output SQL are written out again below, because a released
    // migration is never edited.
    name: 'write_rows: task rows as column arrays',
    sql: `
      CREATE FUNCTION write_rows(p_term bigint, p_holder text,
        p_seq bigint[], p_id text[], p_queue_seq bigint[], p_kind text[], p_payload text[],
        p_priority text[], p_target_member_id text[], p_status text[], p_attempt integer[],
        p_member_id text[], p_result text[], p_error text[], p_created_at_ms bigint[],
        p_started_at_ms bigint[], p_finished_at_ms bigint[], p_max_attempts integer[],
        p_retry_backoff_ms bigint[], p_timeout_ms bigint[], p_attempt_ended boolean[],
        p_retry_at_ms bigint[], p_base64 boolean[], p_output json, p_deletes bigint[])
      RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
      DECLARE
        lease_term bigint;
        lease_holder text;
      BEGIN
        IF p_term IS NOT NULL THEN
          SELECT term, holder INTO lease_term, lease_holder
            FROM leader_lease WHERE id = 1 FOR SHARE;
          IF lease_term IS DISTINCT FROM p_term OR lease_holder IS DISTINCT FROM p_holder THEN
            RAISE EXCEPTION USING ERRCODE = 'DRF01',
              MESSAGE = format('this leader''s term %s is over: %s; nothing was written', p_term,
                CASE WHEN lease_term IS NULL THEN 'the lease is gone'
                     ELSE format('leader %s holds term %s', lease_holder, lease_term) END);
          END IF;
        END IF;
        IF cardinality(p_seq) > 0 THEN
          INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id,
            status, attempt, member_id, result, error, created_at_ms, started_at_ms,
            finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
            retry_at_ms)
          SELECT r.seq, r.id, r.queue_seq, r.kind,
            CASE WHEN r.b64 THEN decode(r.payload, 'base64') ELSE convert_to(r.payload, 'UTF8') END,
            r.priority, r.target_member_id, r.status, r.attempt, r.member_id,
            CASE WHEN r.b64 THEN decode(r.result, 'base64') ELSE convert_to(r.result, 'UTF8') END,
            CASE WHEN r.b64 THEN decode(r.error, 'base64') ELSE convert_to(r.error, 'UTF8') END,
            r.created_at_ms, r.started_at_ms, r.finished_at_ms, r.max_attempts,
            r.retry_backoff_ms, r.timeout_ms, r.attempt_ended, r.retry_at_ms
          FROM unnest(p_seq, p_id, p_queue_seq, p_kind, p_payload, p_priority,
            p_target_member_id, p_status, p_attempt, p_member_id, p_result, p_error,
            p_created_at_ms, p_started_at_ms, p_finished_at_ms, p_max_attempts,
            p_retry_backoff_ms, p_timeout_ms, p_attempt_ended, p_retry_at_ms, p_base64)
            AS r(seq, id, queue_seq, kind, payload, priority, target_member_id, status,
              attempt, member_id, result, error, created_at_ms, started_at_ms,
              finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
              retry_at_ms, b64)
          ON CONFLICT (seq) DO UPDATE SET queue_seq = EXCLUDED.queue_seq,
            status = EXCLUDED.status, attempt = EXCLUDED.attempt,
            member_id = EXCLUDED.member_id, result = EXCLUDED.result, error = EXCLUDED.error,
            started_at_ms = EXCLUDED.started_at_ms, finished_at_ms = EXCLUDED.finished_at_ms,
            attempt_ended = EXCLUDED.attempt_ended, retry_at_ms = EXCLUDED.retry_at_ms;
        END IF;
        IF p_output IS NOT NULL THEN
          INSERT INTO task_output (task_seq, "offset", attempt, stream, data, truncated)
          SELECT o.task_seq, o."offset", o.attempt, o.stream, decode(o.data, 'base64'),
            o.truncated
          FROM json_to_recordset(p_output) AS o(task_seq bigint, "offset" bigint,
            attempt integer, stream text, data text, truncated boolean)
          ON CONFLICT (task_seq, "offset") DO UPDATE SET attempt = EXCLUDED.attempt,
            stream = EXCLUDED.stream, data = EXCLUDED.data, truncated = EXCLUDED.truncated;
        END IF;
        -- After the output inserts: a task pruned in the same turn loses all of it.
        IF cardinality(p_deletes) > 0 THEN
          DELETE FROM tasks WHERE seq = ANY (p_deletes);
          DELETE FROM task_output WHERE task_seq = ANY (p_deletes);
        END IF;
      END
      $fn$;`,
  },
  {
    // Issue #18: the run time a delayed task waits for (kept after it ran), and the
    // idempotency key a task answers for, with when it stops holding (NULL: until the task
    // finishes), and attempt_base (attempts before an operator's re-run of a failed task).
    // write_task_rows is write_rows (migration 4) with these four columns more (the first
    // three set on insert only: they never change), and the controls (leader settings kept with
    // the task list, such as pauses: JSON values by key), written in the same transaction.
    // write_rows stays, unused, as a released migration is never edited (a leader refuses
    // a newer schema than it knows).
    name: 'delayed tasks, idempotency keys, controls; write_task_rows',
    sql: `
      ALTER TABLE tasks ADD COLUMN run_at_ms bigint;
      ALTER TABLE tasks ADD COLUMN idempotency_key text;
      ALTER TABLE tasks ADD COLUMN idempotency_expires_at_ms bigint;
      ALTER TABLE tasks ADD COLUMN attempt_base integer NOT NULL DEFAULT 0;
      CREATE TABLE controls (key text PRIMARY KEY, value text NOT NULL);
      CREATE FUNCTION write_task_rows(p_term bigint, p_holder text,
        p_seq bigint[], p_id text[], p_queue_seq bigint[], p_kind text[], p_payload text[],
        p_priority text[], p_target_member_id text[], p_status text[], p_attempt integer[],
        p_member_id text[], p_result text[], p_error text[], p_created_at_ms bigint[],
        p_started_at_ms bigint[], p_finished_at_ms bigint[], p_max_attempts integer[],
        p_retry_backoff_ms bigint[], p_timeout_ms bigint[], p_attempt_ended boolean[],
        p_retry_at_ms bigint[], p_run_at_ms bigint[], p_idempotency_key text[],
        p_idempotency_expires_at_ms bigint[], p_attempt_base integer[], p_base64 boolean[],
        p_output json,
        p_controls json, p_deletes bigint[])
      RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
      DECLARE
        lease_term bigint;
        lease_holder text;
      BEGIN
        IF p_term IS NOT NULL THEN
          SELECT term, holder INTO lease_term, lease_holder
            FROM leader_lease WHERE id = 1 FOR SHARE;
          IF lease_term IS DISTINCT FROM p_term OR lease_holder IS DISTINCT FROM p_holder THEN
            RAISE EXCEPTION USING ERRCODE = 'DRF01',
              MESSAGE = format('this leader''s term %s is over: %s; nothing was written', p_term,
                CASE WHEN lease_term IS NULL THEN 'the lease is gone'
                     ELSE format('leader %s holds term %s', lease_holder, lease_term) END);
          END IF;
        END IF;
        IF cardinality(p_seq) > 0 THEN
          INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id,
            status, attempt, member_id, result, error, created_at_ms, started_at_ms,
            finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
            retry_at_ms, run_at_ms, idempotency_key, idempotency_expires_at_ms, attempt_base)
          SELECT r.seq, r.id, r.queue_seq, r.kind,
            CASE WHEN r.b64 THEN decode(r.payload, 'base64') ELSE convert_to(r.payload, 'UTF8') END,
            r.priority, r.target_member_id, r.status, r.attempt, r.member_id,
            CASE WHEN r.b64 THEN decode(r.result, 'base64') ELSE convert_to(r.result, 'UTF8') END,
            CASE WHEN r.b64 THEN decode(r.error, 'base64') ELSE convert_to(r.error, 'UTF8') END,
            r.created_at_ms, r.started_at_ms, r.finished_at_ms, r.max_attempts,
            r.retry_backoff_ms, r.timeout_ms, r.attempt_ended, r.retry_at_ms, r.run_at_ms,
            r.idempotency_key, r.idempotency_expires_at_ms, r.attempt_base
          FROM unnest(p_seq, p_id, p_queue_seq, p_kind, p_payload, p_priority,
            p_target_member_id, p_status, p_attempt, p_member_id, p_result, p_error,
            p_created_at_ms, p_started_at_ms, p_finished_at_ms, p_max_attempts,
            p_retry_backoff_ms, p_timeout_ms, p_attempt_ended, p_retry_at_ms, p_run_at_ms,
            p_idempotency_key, p_idempotency_expires_at_ms, p_attempt_base, p_base64)
            AS r(seq, id, queue_seq, kind, payload, priority, target_member_id, status,
              attempt, member_id, result, error, created_at_ms, started_at_ms,
              finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
              retry_at_ms, run_at_ms, idempotency_key, idempotency_expires_at_ms,
              attempt_base, b64)
          ON CONFLICT (seq) DO UPDATE SET queue_seq = EXCLUDED.queue_seq,
            status = EXCLUDED.status, attempt = EXCLUDED.attempt,
            member_id = EXCLUDED.member_id, result = EXCLUDED.result, error = EXCLUDED.error,
            started_at_ms = EXCLUDED.started_at_ms, finished_at_ms = EXCLUDED.finished_at_ms,
            attempt_ended = EXCLUDED.attempt_ended, retry_at_ms = EXCLUDED.retry_at_ms,
            attempt_base = EXCLUDED.attempt_base;
        END IF;
        IF p_output IS NOT NULL THEN
          INSERT INTO task_output (task_seq, "offset", attempt, stream, data, truncated)
          SELECT o.task_seq, o."offset", o.attempt, o.stream, decode(o.data, 'base64'),
            o.truncated
          FROM json_to_recordset(p_output) AS o(task_seq bigint, "offset" bigint,
            attempt integer, stream text, data text, truncated boolean)
          ON CONFLICT (task_seq, "offset") DO UPDATE SET attempt = EXCLUDED.attempt,
            stream = EXCLUDED.stream, data = EXCLUDED.data, truncated = EXCLUDED.truncated;
        END IF;
        IF p_controls IS NOT NULL THEN
          DELETE FROM controls WHERE key IN (SELECT c.key
            FROM json_to_recordset(p_controls) AS c(key text, value text) WHERE c.value IS NULL);
          INSERT INTO controls (key, value)
          SELECT c.key, c.value
          FROM json_to_recordset(p_controls) AS c(key text, value text)
          WHERE c.value IS NOT NULL
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
        END IF;
        -- After the output inserts: a task pruned in the same turn loses all of it.
        IF cardinality(p_deletes) > 0 THEN
          DELETE FROM tasks WHERE seq = ANY (p_deletes);
          DELETE FROM task_output WHERE task_seq = ANY (p_deletes);
        END IF;
      END
      $fn$;`,
  },
  {
    // Issue #18: the concurrency key a task shares limits and turns with (set on insert
    // only: it never changes). write_tasks is write_task_rows (migration 5) with that
    // column more; write_task_rows stays, unused (a released migration is never edited).
    name: 'concurrency keys; write_tasks',
    sql: `
      ALTER TABLE tasks ADD COLUMN concurrency_key text;
      CREATE FUNCTION write_tasks(p_term bigint, p_holder text,
        p_seq bigint[], p_id text[], p_queue_seq bigint[], p_kind text[], p_payload text[],
        p_priority text[], p_target_member_id text[], p_status text[], p_attempt integer[],
        p_member_id text[], p_result text[], p_error text[], p_created_at_ms bigint[],
        p_started_at_ms bigint[], p_finished_at_ms bigint[], p_max_attempts integer[],
        p_retry_backoff_ms bigint[], p_timeout_ms bigint[], p_attempt_ended boolean[],
        p_retry_at_ms bigint[], p_run_at_ms bigint[], p_idempotency_key text[],
        p_idempotency_expires_at_ms bigint[], p_attempt_base integer[], p_concurrency_key text[],
        p_base64 boolean[],
        p_output json,
        p_controls json, p_deletes bigint[])
      RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
      DECLARE
        lease_term bigint;
        lease_holder text;
      BEGIN
        IF p_term IS NOT NULL THEN
          SELECT term, holder INTO lease_term, lease_holder
            FROM leader_lease WHERE id = 1 FOR SHARE;
          IF lease_term IS DISTINCT FROM p_term OR lease_holder IS DISTINCT FROM p_holder THEN
            RAISE EXCEPTION USING ERRCODE = 'DRF01',
              MESSAGE = format('this leader''s term %s is over: %s; nothing was written', p_term,
                CASE WHEN lease_term IS NULL THEN 'the lease is gone'
                     ELSE format('leader %s holds term %s', lease_holder, lease_term) END);
          END IF;
        END IF;
        IF cardinality(p_seq) > 0 THEN
          INSERT INTO tasks (seq, id, queue_seq, kind, payload, priority, target_member_id,
            status, attempt, member_id, result, error, created_at_ms, started_at_ms,
            finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
            retry_at_ms, run_at_ms, idempotency_key, idempotency_expires_at_ms, attempt_base,
            concurrency_key)
          SELECT r.seq, r.id, r.queue_seq, r.kind,
            CASE WHEN r.b64 THEN decode(r.payload, 'base64') ELSE convert_to(r.payload, 'UTF8') END,
            r.priority, r.target_member_id, r.status, r.attempt, r.member_id,
            CASE WHEN r.b64 THEN decode(r.result, 'base64') ELSE convert_to(r.result, 'UTF8') END,
            CASE WHEN r.b64 THEN decode(r.error, 'base64') ELSE convert_to(r.error, 'UTF8') END,
            r.created_at_ms, r.started_at_ms, r.finished_at_ms, r.max_attempts,
            r.retry_backoff_ms, r.timeout_ms, r.attempt_ended, r.retry_at_ms, r.run_at_ms,
            r.idempotency_key, r.idempotency_expires_at_ms, r.attempt_base, r.concurrency_key
          FROM unnest(p_seq, p_id, p_queue_seq, p_kind, p_payload, p_priority,
            p_target_member_id, p_status, p_attempt, p_member_id, p_result, p_error,
            p_created_at_ms, p_started_at_ms, p_finished_at_ms, p_max_attempts,
            p_retry_backoff_ms, p_timeout_ms, p_attempt_ended, p_retry_at_ms, p_run_at_ms,
            p_idempotency_key, p_idempotency_expires_at_ms, p_attempt_base, p_concurrency_key,
            p_base64)
            AS r(seq, id, queue_seq, kind, payload, priority, target_member_id, status,
              attempt, member_id, result, error, created_at_ms, started_at_ms,
              finished_at_ms, max_attempts, retry_backoff_ms, timeout_ms, attempt_ended,
              retry_at_ms, run_at_ms, idempotency_key, idempotency_expires_at_ms,
              attempt_base, concurrency_key, b64)
          ON CONFLICT (seq) DO UPDATE SET queue_seq = EXCLUDED.queue_seq,
            status = EXCLUDED.status, attempt = EXCLUDED.attempt,
            member_id = EXCLUDED.member_id, result = EXCLUDED.result, error = EXCLUDED.error,
            started_at_ms = EXCLUDED.started_at_ms, finished_at_ms = EXCLUDED.finished_at_ms,
            attempt_ended = EXCLUDED.attempt_ended, retry_at_ms = EXCLUDED.retry_at_ms,
            attempt_base = EXCLUDED.attempt_base;
        END IF;
        IF p_output IS NOT NULL THEN
          INSERT INTO task_output (task_seq, "offset", attempt, stream, data, truncated)
          SELECT o.task_seq, o."offset", o.attempt, o.stream, decode(o.data, 'base64'),
            o.truncated
          FROM json_to_recordset(p_output) AS o(task_seq bigint, "offset" bigint,
            attempt integer, stream text, data text, truncated boolean)
          ON CONFLICT (task_seq, "offset") DO UPDATE SET attempt = EXCLUDED.attempt,
            stream = EXCLUDED.stream, data = EXCLUDED.data, truncated = EXCLUDED.truncated;
        END IF;
        IF p_controls IS NOT NULL THEN
          DELETE FROM controls WHERE key IN (SELECT c.key
            FROM json_to_recordset(p_controls) AS c(key text, value text) WHERE c.value IS NULL);
          INSERT INTO controls (key, value)
          SELECT c.key, c.value
          FROM json_to_recordset(p_controls) AS c(key text, value text)
          WHERE c.value IS NOT NULL
          ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value;
        END IF;
        -- After the output inserts: a task pruned in the same turn loses all of it.
        IF cardinality(p_deletes) > 0 THEN
          DELETE FROM tasks WHERE seq = ANY (p_deletes);
          DELETE FROM task_output WHERE task_seq = ANY (p_deletes);
        END IF;
      END
      $fn$;`,
  },
];

/** The schema version this drover writes: the number of migrations. */
export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
