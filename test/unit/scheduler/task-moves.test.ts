import { describe, expect, it } from 'vitest';
import { TaskQueue } from '../../../src/scheduler/queue.js';
import { QueueSeqs } from '../../../src/scheduler/queue-seqs.js';
import { InvalidTaskTransitionError, type TaskRecord } from '../../../src/scheduler/task.js';
import { TaskIndex } from '../../../src/scheduler/task-index.js';
import {
  finishTask,
  requeueAtHead,
  unqueueTask,
  type QueueContext,
} from '../../../src/scheduler/task-moves.js';
import type { MemberId } from '../../../src/shared/ids.js';
import { taskRecord } from '../../helpers/task-record.js';

const m = (id: string) => id as MemberId;

/** A context holding `count` queued tasks t1..tN, in that order. */
function setup(count: number): { ctx: QueueContext; tasks: TaskRecord[] } {
  const ctx: QueueContext = {
    index: new TaskIndex(),
    queue: new TaskQueue(),
    seqs: new QueueSeqs(),
  };
  const tasks = Array.from({ length: count }, () => {
    const task = taskRecord({ seq: ctx.index.nextSeq(), queueSeq: ctx.seqs.nextTail() });
    ctx.index.add(task);
    ctx.queue.push(task);
    return task;
  });
  return { ctx, tasks };
}

/** Takes a queued task out and runs its next attempt on member `a`, as the scheduler does. */
function run(ctx: QueueContext, task: TaskRecord, nowMs = 0): void {
  ctx.queue.remove(task.id);
  task.startedAtMs = nowMs;
  task.attempt++;
  task.memberId = m('a');
  ctx.index.setStatus(task, 'running');
}

const queued = (ctx: QueueContext) => {
  const order: string[] = [];
  const taker = { id: m('a'), kinds: new Set(['default']) };
  for (let entry = ctx.queue.takeFor(taker); entry; entry = ctx.queue.takeFor(taker)) {
    order.push(entry.id);
  }
  return order;
};

describe('finishTask', () => {
  it('ends a task through the transition table and stamps the finish time', () => {
    const { ctx, tasks } = setup(1);
    const task = tasks[0]!;
    run(ctx, task);
    finishTask(ctx.index, task, 42, 'completed');
    expect(task.status).toBe('completed');
    expect(task.finishedAtMs).toBe(42);
    expect(ctx.index.finishedCount).toBe(1);
    expect(() => finishTask(ctx.index, task, 43, 'error')).toThrow(InvalidTaskTransitionError);
    expect(task.finishedAtMs).toBe(42);
  });
});

describe('unqueueTask', () => {
  it('takes a task out of the queue', () => {
    const { ctx, tasks } = setup(2);
    unqueueTask(ctx, tasks[0]!);
    expect(ctx.queue.has(tasks[0]!.id)).toBe(false);
    expect(queued(ctx)).toEqual(['t2']);
  });

  it('takes a task out of its retry wait, leaving the queue alone', () => {
    const { ctx, tasks } = setup(2);
    const task = tasks[0]!;
    run(ctx, task);
    ctx.index.setStatus(task, 'pending');
    ctx.index.delay(task, 1_000);
    unqueueTask(ctx, task);
    expect(task.retryAtMs).toBeUndefined();
    expect(ctx.index.delayedCount).toBe(0);
    expect(queued(ctx)).toEqual(['t2']);
  });
});

describe('requeueAtHead', () => {
  it('puts running tasks back ahead of the queued ones, first ones first, attempts kept', () => {
    const { ctx, tasks } = setup(4);
    const [t1, t2, t3] = tasks as [TaskRecord, TaskRecord, TaskRecord];
    for (const task of [t1, t2, t3]) run(ctx, task);
    const requeued = requeueAtHead(ctx, [t3, t1]);
    expect(requeued.map((task) => task.id)).toEqual(['t3', 't1']);
    expect([t1.status, t3.status]).toEqual(['pending', 'pending']);
    expect([t1.attempt, t3.attempt]).toEqual([1, 1]);
    expect(t1.queueSeq).toBeLessThan(t3.queueSeq);
    expect(t3.queueSeq).toBeLessThan(0);
    requeueAtHead(ctx, [t2]);
    expect(queued(ctx)).toEqual(['t2', 't1', 't3', 't4']);
  });
});
