import type { Task } from '../gen/scheduler/v1/scheduler.js';

/** A Task message to schedule: the given fields, everything else empty (the leader's). */
export function taskDraft(fields: Partial<Task> & { payload: string }): Task {
  return {
    id: '',
    kind: '',
    attempt: 0,
    memberId: '',
    targetMemberId: '',
    createdAt: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    maxAttempts: 0,
    retryAt: undefined,
    runAt: undefined,
    idempotencyKey: '',
    waiting: '',
    attemptBase: 0,
    concurrencyKey: '',
    traceContext: {},
    attempts: [],
    ...fields,
  };
}
