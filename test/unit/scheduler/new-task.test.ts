import { describe, expect, it } from 'vitest';
import {
  checkNewTask,
  checkNewTasks,
  newTaskRecord,
  type NewTask,
  type SchedulerLimits,
} from '../../../src/scheduler/new-task.js';
import { DEFAULT_TASK_POLICY, POLICY_LIMITS } from '../../../src/scheduler/retry-policy.js';
import { ConflictError, InvalidArgumentError, TooLargeError } from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { taskRecord } from '../../helpers/task-record.js';

const limits: SchedulerLimits = { maxPayloadBytes: 16 };
const check = (spec: Partial<NewTask>, given: SchedulerLimits = limits) =>
  checkNewTask({ id: 'a', payload: 'p', ...spec }, given, 0);

describe('checkNewTask: defaults', () => {
  it('fills in kind "default", priority medium, no target and the default policy', () => {
    expect(check({ kind: '', targetMemberId: '' })).toEqual({
      id: 'a',
      kind: 'default',
      payload: 'p',
      priority: 'medium',
      targetMemberId: undefined,
      maxAttempts: DEFAULT_TASK_POLICY.maxAttempts,
      retryBackoffMs: DEFAULT_TASK_POLICY.retryBackoffMs,
      timeoutMs: DEFAULT_TASK_POLICY.timeoutMs,
    });
  });

  it('takes the cluster policy from the limits; max_attempts 0 means the default', () => {
    const policy = { maxAttempts: 7, retryBackoffMs: 5, retryBackoffMaxMs: 50, timeoutMs: 9 };
    expect(check({ maxAttempts: 0 }, { maxPayloadBytes: 16, policy })).toMatchObject({
      maxAttempts: 7,
      retryBackoffMs: 5,
      timeoutMs: 9,
    });
  });

  it('keeps what the task names, zeros included', () => {
    expect(
      check({
        priority: 'high',
        kind: 'img.resize:v2',
        targetMemberId: 'w1',
        maxAttempts: 1,
        retryBackoffMs: 0,
        timeoutMs: 0,
      }),
    ).toEqual({
      id: 'a',
      kind: 'img.resize:v2',
      payload: 'p',
      priority: 'high',
      targetMemberId: 'w1',
      maxAttempts: 1,
      retryBackoffMs: 0,
      timeoutMs: 0,
    });
  });
});

describe('checkNewTask: refusals', () => {
  it('counts the payload limit in UTF-8 bytes: exactly the limit passes, one more does not', () => {
    expect(check({ payload: 'é'.repeat(8) }).payload).toBe('é'.repeat(8)); // 16 bytes
    expect(() => check({ payload: 'é'.repeat(8) + 'x' })).toThrow(
      new TooLargeError('task payload is 17 bytes; the limit is 16'),
    );
  });

  it('refuses an empty payload, and one that is not well-formed text', () => {
    expect(() => check({ payload: '' })).toThrow(
      new InvalidArgumentError('task payload must not be empty'),
    );
    expect(() => check({ payload: 'x\uD800' })).toThrow(InvalidArgumentError);
  });

  it('refuses the ids a URL path cannot address: . and .., not ids that merely hold dots', () => {
    for (const id of ['.', '..']) {
      expect(() => check({ id })).toThrow(
        new InvalidArgumentError(
          `task id "${id}" cannot be used: a URL path cannot address it (the HTTP API and the dashboard could not reach the task)`,
        ),
      );
    }
    expect(check({ id: '...' }).id).toBe('...');
    expect(check({ id: 'v1.2' }).id).toBe('v1.2');
  });

  it('refuses a bad id or target id', () => {
    expect(() => check({ id: '' })).toThrow(InvalidArgumentError);
    expect(() => check({ id: 'a b' })).toThrow(InvalidArgumentError);
    expect(() => check({ targetMemberId: 'm'.repeat(257) })).toThrow(/target member id/);
    expect(check({ targetMemberId: 'm'.repeat(256) }).targetMemberId).toBe('m'.repeat(256));
  });

  it('takes a kind of 1-64 allowed characters and nothing else', () => {
    expect(check({ kind: 'k'.repeat(64) }).kind).toBe('k'.repeat(64));
    for (const kind of ['k'.repeat(65), 'bad kind', '.dot-first', 'é']) {
      expect(() => check({ kind })).toThrow(/task kind .* is not valid/);
    }
  });

  it('takes policy values from 0 to their limit as whole numbers only', () => {
    const fields = [
      ['maxAttempts', 'max_attempts', POLICY_LIMITS.maxAttempts],
      ['retryBackoffMs', 'retry_backoff_ms', POLICY_LIMITS.retryBackoffMs],
      ['timeoutMs', 'timeout_ms', POLICY_LIMITS.timeoutMs],
    ] as const;
    for (const [field, name, most] of fields) {
      expect(check({ [field]: most })[field]).toBe(most);
      for (const bad of [-1, 1.5, most + 1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => check({ [field]: bad })).toThrow(
          new InvalidArgumentError(`${name} must be a whole number from 0 to ${most}`),
        );
      }
    }
  });

  it('prefixes messages with where the task is', () => {
    expect(() => checkNewTask({ id: 'a', payload: '' }, limits, 0, 'tasks[3]: ')).toThrow(
      new InvalidArgumentError('tasks[3]: task payload must not be empty'),
    );
    expect(() =>
      checkNewTask({ id: 'a', payload: 'p', timeoutMs: -1 }, limits, 0, 'tasks[0]: '),
    ).toThrow(/^tasks\[0\]: timeout_ms must be/);
  });
});

describe('checkNewTasks', () => {
  const known = (exists: (id: TaskId) => boolean, held: Record<string, string> = {}) => ({
    exists,
    heldBy: (key: string) => held[key] as TaskId | undefined,
  });
  const none = known(() => false);

  it('checks every task in order, and an empty batch is empty', () => {
    const checked = checkNewTasks(
      [
        { id: 'a', payload: 'x' },
        { id: 'b', payload: 'y', priority: 'low' },
      ],
      limits,
      none,
      0,
    );
    expect(checked.map((e) => e.kind === 'new' && [e.task.id, e.task.priority])).toEqual([
      ['a', 'medium'],
      ['b', 'low'],
    ]);
    expect(checkNewTasks([], limits, none, 0)).toEqual([]);
  });

  it('names the offending index in a batch of more than one, and none for one task', () => {
    expect(() =>
      checkNewTasks(
        [
          { id: 'ok', payload: 'x' },
          { id: 'bad', payload: '' },
        ],
        limits,
        none,
        0,
      ),
    ).toThrow(new InvalidArgumentError('tasks[1]: task payload must not be empty'));
    expect(() => checkNewTasks([{ id: 'bad', payload: '' }], limits, none, 0)).toThrow(
      new InvalidArgumentError('task payload must not be empty'),
    );
  });

  it('refuses a duplicate within the batch or of a known task', () => {
    const exists = known((id) => id === 'old');
    expect(() =>
      checkNewTasks(
        [
          { id: 'a', payload: 'x' },
          { id: 'a', payload: 'y' },
        ],
        limits,
        exists,
        0,
      ),
    ).toThrow(new ConflictError('tasks[1]: task a is tasks[0] too'));
    expect(() => checkNewTasks([{ id: 'old', payload: 'x' }], limits, exists, 0)).toThrow(
      new ConflictError('task old already exists'),
    );
  });

  it('reports an invalid task before a duplicate, wherever each is', () => {
    const exists = known((id) => id === 'a');
    expect(() =>
      checkNewTasks(
        [
          { id: 'a', payload: 'x' },
          { id: 'b', payload: '' },
        ],
        limits,
        exists,
        0,
      ),
    ).toThrow(InvalidArgumentError);
  });

  it('answers a held idempotency key with its task, also one held earlier in the batch', () => {
    const checked = checkNewTasks(
      [
        { id: 'n1', payload: 'x', idempotencyKey: 'k-old' },
        { id: 'n2', payload: 'x', idempotencyKey: 'k-new' },
        { id: 'n3', payload: 'x', idempotencyKey: 'k-new' },
        // A held key answers even for an id that exists: nothing is created either way.
        { id: 'old', payload: 'x', idempotencyKey: 'k-old' },
      ],
      limits,
      known((id) => id === 'old', { 'k-old': 'old' }),
      0,
    );
    expect(checked.map((e) => (e.kind === 'new' ? `new ${e.task.id}` : `is ${e.id}`))).toEqual([
      'is old',
      'new n2',
      'is n2',
      'is old',
    ]);
  });

  it('checks the key and its TTL: a TTL needs a key, and both have bounds', () => {
    expect(check({ idempotencyKey: 'k', idempotencyTtlMs: 500 })).toMatchObject({
      idempotencyKey: 'k',
      idempotencyExpiresAtMs: 500,
    });
    expect(check({ idempotencyKey: 'k' })).toMatchObject({ idempotencyExpiresAtMs: undefined });
    expect(check({ idempotencyKey: '', idempotencyTtlMs: 0 })).toMatchObject({
      idempotencyKey: undefined,
    });
    expect(() => check({ idempotencyTtlMs: 5 })).toThrow(
      /idempotency_ttl_ms needs an idempotency_key/,
    );
    expect(() => check({ idempotencyKey: 'a b' })).toThrow(/whitespace/);
    expect(() => check({ idempotencyKey: 'x'.repeat(1000) })).toThrow(/characters; the most/);
    expect(() => check({ idempotencyKey: 'k', idempotencyTtlMs: 2 ** 60 })).toThrow(
      /idempotency_ttl_ms must be/,
    );
  });
});

describe('newTaskRecord', () => {
  it('makes a pending, never started record at the given seq, place and time', () => {
    const clock = new FakeClock();
    const checked = check({ priority: 'low', targetMemberId: 'w', timeoutMs: 30 });
    expect(newTaskRecord(checked, 4, -2, clock.nowMs())).toEqual(
      taskRecord({
        id: 'a' as TaskId,
        seq: 4,
        queueSeq: -2,
        payload: 'p',
        priority: 'low',
        targetMemberId: 'w' as MemberId,
        timeoutMs: 30,
        createdAtMs: clock.nowMs(),
      }),
    );
  });

  it('gives every record the same fields in the same order (one V8 shape)', () => {
    const clock = new FakeClock();
    const plain = newTaskRecord(check({}), 1, 1, clock.nowMs());
    clock.advance(5);
    const full = newTaskRecord(
      check({ id: 'b', kind: 'k', targetMemberId: 'w', maxAttempts: 2 }),
      2,
      2,
      clock.nowMs(),
    );
    expect(Object.keys(full)).toEqual(Object.keys(plain));
    // Every field present, even those still undefined.
    expect(Object.keys(plain).sort()).toEqual(Object.keys(taskRecord()).sort());
  });
});
