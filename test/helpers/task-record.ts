import type { TaskId } from '../../src/shared/ids.js';
import { DEFAULT_TASK_POLICY } from '../../src/scheduler/retry-policy.js';
import { DEFAULT_KIND, type TaskRecord } from '../../src/scheduler/task.js';

/**
 * A task record for tests: by default a task just scheduled with the cluster's default
 * policy (pending, never started, created at 0 ms). Its id and queue position follow its
 * seq (`t3`, 3) unless given, so records built from distinct seqs never collide; override
 * what a test is about. The one place tests write out every field of a record.
 */
export function taskRecord(overrides: Partial<TaskRecord> = {}): TaskRecord {
  const seq = overrides.seq ?? 1;
  return {
    id: `t${seq}` as TaskId,
    seq,
    queueSeq: seq,
    kind: DEFAULT_KIND,
    payload: 'p',
    priority: 'medium',
    targetMemberId: undefined,
    maxAttempts: DEFAULT_TASK_POLICY.maxAttempts,
    retryBackoffMs: DEFAULT_TASK_POLICY.retryBackoffMs,
    timeoutMs: DEFAULT_TASK_POLICY.timeoutMs,
    status: 'pending',
    attempt: 0,
    attemptBase: 0,
    memberId: undefined,
    result: undefined,
    error: undefined,
    attemptEnded: false,
    retryAtMs: undefined,
    runAtMs: undefined,
    idempotencyKey: undefined,
    idempotencyExpiresAtMs: undefined,
    concurrencyKey: undefined,
    createdAtMs: 0,
    startedAtMs: undefined,
    finishedAtMs: undefined,
    ...overrides,
  };
}
