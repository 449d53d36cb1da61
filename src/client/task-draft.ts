import type { Task } from '../gen/scheduler/v1/scheduler.js';

/**
 * A Task message to schedule: the given fields, everything else empty (the leader's). A
 * field given as `undefined` (`{ kind: options.kind }` with no kind) is a field not given,
 * as TypeScript's optional fields mean: it must not land as the string "undefined".
 */
export function taskDraft(fields: Partial<Task> & { payload: string }): Task {
  // Optional (proto3 `optional`) fields are left out: present means set.
  const draft: Task = {
    payload: fields.payload,
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
  };
  const given = fields as Record<string, unknown>;
  const into = draft as unknown as Record<string, unknown>;
  for (const key in given) if (given[key] !== undefined) into[key] = given[key];
  return draft;
}
