import type { MemberId } from '../shared/ids.js';
import type { TaskQueue } from './queue.js';
import type { StartOrder } from './scheduler-types.js';
import type { QueueSeqs } from './queue-seqs.js';
import type { TaskRecord, TaskStatus } from './task.js';
import type { TaskIndex } from './task-index.js';

/**
 * What moving a task between the queue, the retry wait and a final status needs: the
 * records (whose `setStatus` checks every status change against the transition table),
 * the pending queue, and the positions at its ends. Shared by the scheduler's units, so
 * each gets only this and what it needs besides, never the whole scheduler.
 */
export interface QueueContext {
  readonly index: TaskIndex;
  readonly queue: TaskQueue;
  readonly seqs: QueueSeqs;
}

/** Ends a task in a final status, as of `nowMs`. */
export function finishTask(
  index: TaskIndex,
  task: TaskRecord,
  nowMs: number,
  status: TaskStatus,
): void {
  index.setStatus(task, status);
  task.finishedAtMs = nowMs;
}

/**
 * Begins a task's next attempt on a member, starting at `startedAtMs`: the record moves to
 * `running` and the start order for its worker is returned. Slots and keys are the
 * caller's business.
 */
export function beginAttempt(
  index: TaskIndex,
  task: TaskRecord,
  memberId: MemberId,
  startedAtMs: number,
): StartOrder {
  // Start time first: entering `running` files the task under its deadline.
  task.startedAtMs = startedAtMs;
  task.attempt++;
  task.attemptEnded = false;
  task.memberId = memberId;
  index.setStatus(task, 'running');
  return {
    memberId,
    taskId: task.id,
    attempt: task.attempt,
    kind: task.kind,
    payload: task.payload,
    concurrencyKey: task.concurrencyKey,
    priority: task.priority,
  };
}

/** Takes a pending task out of the queue, or out of the retry wait. */
export function unqueueTask(ctx: QueueContext, task: TaskRecord): void {
  if (!ctx.index.undelay(task)) ctx.queue.remove(task.id);
}

/**
 * Puts running tasks back at the head of their priority, in their original order, with
 * their attempt numbers kept. Returns them, sorted as requeued.
 */
export function requeueAtHead(ctx: QueueContext, tasks: TaskRecord[]): TaskRecord[] {
  // Requeue last-first: each goes in front of the one before, so the first ends first.
  tasks.sort((a, b) => b.queueSeq - a.queueSeq);
  for (const task of tasks) {
    ctx.index.setStatus(task, 'pending');
    task.queueSeq = ctx.seqs.nextHead();
    ctx.queue.push(task);
  }
  return tasks;
}

/**
 * Queues waiting tasks (scheduled ones whose run time came, or a re-run) at the tail of
 * their priority, in the order given. Returns them.
 */
export function queueAtTail(ctx: QueueContext, tasks: TaskRecord[]): TaskRecord[] {
  for (const task of tasks) {
    ctx.index.setStatus(task, 'pending');
    task.queueSeq = ctx.seqs.nextTail();
    ctx.queue.push(task);
  }
  return tasks;
}
