import { describe, expect, it } from 'vitest';
import { taskDraft } from '../../../src/client/task-draft.js';
import { ScheduleTaskStreamRequest, Task } from '../../../src/gen/scheduler/v1/scheduler.js';

describe('taskDraft', () => {
  it('takes a field given as undefined as not given, never as the string "undefined"', () => {
    const options: { kind?: string; key?: string } = {};
    const draft = taskDraft({
      payload: 'p',
      id: undefined,
      kind: options.kind,
      targetMemberId: undefined,
      idempotencyKey: undefined,
      concurrencyKey: options.key,
      priority: undefined,
      maxAttempts: undefined,
    } as never);
    expect(draft).toMatchObject({
      payload: 'p',
      id: '',
      kind: '',
      targetMemberId: '',
      idempotencyKey: '',
      concurrencyKey: '',
      maxAttempts: 0,
    });
    expect('priority' in draft).toBe(false);
    // It encodes as a task with those fields unset.
    const wire = Task.decode(Task.encode(draft).finish());
    expect(wire).toEqual(Task.decode(Task.encode(taskDraft({ payload: 'p' })).finish()));
    expect(() =>
      ScheduleTaskStreamRequest.encode({ requestId: 1, task: draft, more: [] }),
    ).not.toThrow();
  });

  it('keeps what is given, optional fields too', () => {
    const draft = taskDraft({ payload: 'p', id: 'a', kind: 'k', priority: 2, delayMs: 5 });
    expect(draft).toMatchObject({ id: 'a', kind: 'k', priority: 2, delayMs: 5 });
  });
});
