import { describe, expect, it } from 'vitest';
import {
  completeAttempt,
  expireAttempts,
  type AttemptContext,
} from '../../../src/scheduler/attempt-outcomes.js';
import { StopWaits } from '../../../src/scheduler/stop-waits.js';
import { TaskQueue } from '../../../src/scheduler/queue.js';
import { QueueSeqs } from '../../../src/scheduler/queue-seqs.js';
import { DEFAULT_TASK_POLICY } from '../../../src/scheduler/retry-policy.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import { TaskIndex } from '../../../src/scheduler/task-index.js';
import { WorkerSlots } from '../../../src/scheduler/worker-slots.js';
import { StaleError } from '../../../src/shared/errors.js';
import type { MemberId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { taskRecord } from '../../helpers/task-record.js';

const m = (id: string) => id as MemberId;

/**
 * A context whose worker `a` (2 slots) runs attempt 1 of task t1, built with `overrides`;
 * t2 waits in the queue.
 */
function setup(overrides: Partial<TaskRecord> = {}) {
  const clock = new FakeClock();
  const ctx: AttemptContext = {
    index: new TaskIndex(),
    queue: new TaskQueue(),
    seqs: new QueueSeqs(),
    slots: new WorkerSlots(),
    policy: { ...DEFAULT_TASK_POLICY, retryBackoffMaxMs: 5_000 },
    keyLimits: { claimed: () => {} },
    stopWaits: new StopWaits(),
  };
  ctx.slots.upsert(m('a'), 2, new Set(['default']));
  const [task, waiting] = [1, 2].map((seq) => {
    const record = taskRecord({ seq, queueSeq: ctx.seqs.nextTail(), ...overrides });
    ctx.index.add(record);
    ctx.queue.push(record);
    return record;
  }) as [TaskRecord, TaskRecord];
  ctx.queue.remove(task.id);
  task.startedAtMs = clock.nowMs();
  task.attempt = 1;
  task.memberId = m('a');
  ctx.index.setStatus(task, 'running');
  ctx.slots.occupy(m('a'), task.id);
  return { clock, ctx, task, waiting };
}

describe('completeAttempt', () => {
  it('records the result, frees the slot, and takes a duplicate report as a no-op', () => {
    const { clock, ctx, task } = setup();
    const report = { taskId: task.id, attempt: 1, memberId: m('a'), result: 'ok' };
    expect(completeAttempt(ctx, clock.nowMs(), report).changed).toEqual([task]);
    expect(task).toMatchObject({ status: 'completed', result: 'ok', finishedAtMs: clock.nowMs() });
    expect(ctx.slots.runningOn(m('a'))).toEqual([]);
    clock.advance(10);
    expect(completeAttempt(ctx, clock.nowMs(), { ...report, result: 'other' }).changed).toEqual([]);
    expect(task.result).toBe('ok');
  });

  it("answers an operator's repeat completion of a finished task, refusing another outcome", () => {
    const { clock, ctx, task } = setup();
    const byHand = { taskId: task.id, attempt: 0, result: 'ok' };
    completeAttempt(ctx, clock.nowMs(), byHand);
    expect(completeAttempt(ctx, clock.nowMs(), byHand).changed).toEqual([]);
    expect(() => completeAttempt(ctx, clock.nowMs(), { ...byHand, result: 'other' })).toThrow(
      /already completed with result "ok"; this completion \(result "other"\) is not recorded/,
    );
    expect(() =>
      completeAttempt(ctx, clock.nowMs(), { taskId: task.id, attempt: 1, error: 'x' }),
    ).toThrow(/already completed with result "ok"; this completion \(error "x"\)/);
    expect(task).toMatchObject({ status: 'completed', result: 'ok' });
  });

  it('retries a failed attempt after its backoff, capped by the policy', () => {
    const { clock, ctx, task } = setup({ retryBackoffMs: 4_000 });
    task.attempt = 2; // the second failure doubles 4 s to 8 s; the cap makes it 5 s
    const report = { taskId: task.id, attempt: 2, memberId: m('a'), error: 'boom' };
    completeAttempt(ctx, clock.nowMs(), report);
    expect(task).toMatchObject({ status: 'pending', error: 'boom', attemptEnded: true });
    expect(task.retryAtMs).toBe(clock.nowMs() + 5_000);
    expect(ctx.queue.has(task.id)).toBe(false);
    expect(() => completeAttempt(ctx, clock.nowMs(), report)).toThrow(StaleError);
  });

  it('requeues a failed attempt at the head at once when the task has no backoff', () => {
    const { clock, ctx, task, waiting } = setup({ retryBackoffMs: 0 });
    completeAttempt(ctx, clock.nowMs(), {
      taskId: task.id,
      attempt: 1,
      memberId: m('a'),
      error: 'x',
    });
    expect(task.status).toBe('pending');
    expect(task.queueSeq).toBeLessThan(waiting.queueSeq);
    expect(ctx.queue.has(task.id)).toBe(true);
  });

  it('fails a task at once on a permanent error', () => {
    const { clock, ctx, task } = setup();
    const report = { taskId: task.id, attempt: 1, memberId: m('a'), error: 'bad', permanent: true };
    completeAttempt(ctx, clock.nowMs(), report);
    expect(task).toMatchObject({ status: 'error', error: 'bad', attempt: 1 });
  });

  it('refuses a stale attempt or another member and changes nothing', () => {
    const { clock, ctx, task } = setup();
    const now = clock.nowMs();
    expect(() =>
      completeAttempt(ctx, now, { taskId: task.id, attempt: 2, memberId: m('a') }),
    ).toThrow(StaleError);
    expect(() =>
      completeAttempt(ctx, now, { taskId: task.id, attempt: 1, memberId: m('b') }),
    ).toThrow(StaleError);
    expect(task.status).toBe('running');
    expect(ctx.slots.runningOn(m('a'))).toEqual([task.id]);
  });

  it('completes by hand with a stop order, keeping the slot until the worker reports', () => {
    const { clock, ctx, task } = setup();
    const { stop } = completeAttempt(ctx, clock.nowMs(), {
      taskId: task.id,
      attempt: 0,
      result: 'r',
    });
    expect(stop).toEqual({
      memberId: 'a',
      taskId: task.id,
      attempt: 1,
      reason: 'completed by an operator',
    });
    expect(task.status).toBe('completed');
    expect(ctx.slots.runningOn(m('a'))).toEqual([task.id]);
    completeAttempt(ctx, clock.nowMs(), { taskId: task.id, attempt: 1, memberId: m('a') });
    expect(ctx.slots.runningOn(m('a'))).toEqual([]);
  });
});

describe('expireAttempts', () => {
  it('stops and fails an attempt past its timeout; its late report only frees the slot', () => {
    const { clock, ctx, task } = setup({ timeoutMs: 1_000 });
    clock.advance(999);
    expect(expireAttempts(ctx, clock.nowMs()).changed).toEqual([]);
    clock.advance(1);
    const { changed, stops, failures } = expireAttempts(ctx, clock.nowMs());
    expect(changed).toEqual([task]);
    expect(stops).toEqual([
      { memberId: 'a', taskId: task.id, attempt: 1, reason: 'attempt 1 timed out after 1000 ms' },
    ]);
    expect(failures).toEqual([{ memberId: 'a', task }]);
    expect(task).toMatchObject({ status: 'pending', attemptEnded: true });
    expect(ctx.slots.stoppingOn(m('a'))).toBe(1);
    const late = { taskId: task.id, attempt: 1, memberId: m('a'), result: 'late' };
    expect(() => completeAttempt(ctx, clock.nowMs(), late)).toThrow(StaleError);
    expect(ctx.slots.stoppingOn(m('a'))).toBe(0);
    expect(task.result).toBeUndefined();
  });
});
