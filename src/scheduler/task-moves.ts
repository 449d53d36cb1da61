import type { TaskQueue } from './queue.js';
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
