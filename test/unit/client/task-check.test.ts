import { describe, expect, it } from 'vitest';
import { taskProblem } from '../../../src/client/task-check.js';
import { TaskPriority } from '../../../src/gen/scheduler/v1/scheduler.js';

describe('taskProblem', () => {
  it('passes every field the producer takes, set or unset', () => {
    expect(taskProblem({ payload: '' })).toBeUndefined();
    expect(
      taskProblem({
        payload: 'x',
        id: 'a',
        kind: 'k',
        targetMemberId: 'w',
        idempotencyKey: 'i',
        concurrencyKey: 'c',
        maxAttempts: 0,
        retryBackoffMs: 0xffff_ffff,
        timeoutMs: 5,
        delayMs: Number.MAX_SAFE_INTEGER,
        idempotencyTtlMs: 1,
        priority: TaskPriority.TASK_PRIORITY_LOW,
        runAt: new Date(0),
      }),
    ).toBeUndefined();
  });

  it('names the field and the value protobuf could not encode', () => {
    const cases: [unknown, string][] = [
      [undefined, 'a task must be an object'],
      [{}, 'payload must be a string, got undefined'],
      [{ payload: 5 }, 'payload must be a string, got 5'],
      [{ payload: 'x', id: 7 }, 'id must be a string, got 7'],
      [
        { payload: 'x', maxAttempts: -1 },
        'maxAttempts must be a whole number from 0 to 4294967295, got -1',
      ],
      [
        { payload: 'x', timeoutMs: 1.5 },
        'timeoutMs must be a whole number from 0 to 4294967295, got 1.5',
      ],
      [
        { payload: 'x', retryBackoffMs: 2 ** 32 },
        'retryBackoffMs must be a whole number from 0 to 4294967295, got 4294967296',
      ],
      [
        { payload: 'x', delayMs: '5' },
        'delayMs must be a whole number from 0 to 9007199254740991, got "5"',
      ],
      [
        { payload: 'x', idempotencyTtlMs: NaN },
        'idempotencyTtlMs must be a whole number from 0 to 9007199254740991, got NaN',
      ],
      [
        { payload: 'x', priority: 9 },
        'priority must be a TaskPriority (TaskPriority.TASK_PRIORITY_HIGH, ...), got 9',
      ],
      [
        { payload: 'x', runAt: new Date('garbage') },
        'runAt must be a valid Date, got an invalid Date',
      ],
      [
        { payload: 'x', runAt: '2027-01-01T00:00:00Z' },
        'runAt must be a valid Date, got "2027-01-01T00:00:00Z"',
      ],
      [{ payload: 'x', runAt: 1_800_000_000_000 }, 'runAt must be a valid Date, got 1800000000000'],
    ];
    for (const [task, problem] of cases) expect(taskProblem(task)).toBe(problem);
  });
});
