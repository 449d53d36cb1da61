import type { MemberId, TaskId } from '../../shared/ids.js';
import type { Priority, TaskRecord, TaskStatus } from '../task.js';

/**
 * A task row as the SQL stores keep it: the record's fields under their column names, with
 * absent values as NULL and the one flag as 0/1 (SQLite has no boolean; PostgreSQL casts).
 */
export interface TaskRow {
  id: string;
  seq: number;
  queue_seq: number;
  kind: string;
  payload: string;
  priority: string;
  target_member_id: string | null;
  status: string;
  attempt: number;
  attempt_base: number;
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
  run_at_ms: number | null;
  idempotency_key: string | null;
  idempotency_expires_at_ms: number | null;
  concurrency_key: string | null;
}

/** The record as a row. */
export function toRow(r: TaskRecord): TaskRow {
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
    attempt_base: r.attemptBase,
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
    run_at_ms: r.runAtMs ?? null,
    idempotency_key: r.idempotencyKey ?? null,
    idempotency_expires_at_ms: r.idempotencyExpiresAtMs ?? null,
    concurrency_key: r.concurrencyKey ?? null,
  };
}

/** The row as a record (the store wrote it, so its values are trusted). */
export function fromRow(row: TaskRow): TaskRecord {
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
    attemptBase: row.attempt_base,
    memberId: (row.member_id ?? undefined) as MemberId | undefined,
    result: row.result ?? undefined,
    error: row.error ?? undefined,
    attemptEnded: row.attempt_ended === 1,
    retryAtMs: row.retry_at_ms ?? undefined,
    runAtMs: row.run_at_ms ?? undefined,
    idempotencyKey: row.idempotency_key ?? undefined,
    idempotencyExpiresAtMs: row.idempotency_expires_at_ms ?? undefined,
    concurrencyKey: row.concurrency_key ?? undefined,
    createdAtMs: row.created_at_ms,
    startedAtMs: row.started_at_ms ?? undefined,
    finishedAtMs: row.finished_at_ms ?? undefined,
  };
}

/** An output row as the SQL stores keep it (`truncated` as 0/1). */
export interface OutputRow {
  task_seq: number;
  offset: number;
  attempt: number;
  stream: string;
  data: string;
  truncated: number;
}
