import { StaleError } from '../shared/errors.js';
import type { Changes } from './scheduler-types.js';
import type { TaskRecord } from './task.js';
import type { QueueContext } from './task-moves.js';
import { beforeRunTime } from './worker-loss.js';
import type { WorkerSlots } from './worker-slots.js';
import { countLossAgain } from './unbegun-loss.js';

/** What taking back an unstarted attempt needs: the queue moves and the workers' slots. */
export interface HandBackContext extends QueueContext {
  readonly slots: WorkerSlots;
}

/**
 * A worker hands back an attempt whose handler it never started (it held the task ahead of
 * a free slot, and is draining or was asked to: see held-recall.ts). The task takes its
 * place again as if never handed out: its FIFO place in its priority, or, for a timed
 * start before its run time, waiting for it. Its attempt keeps its number, so a late
 * report of it stays refused once another attempt starts, but leaves the attempt budget
 * (`attemptBase`), so a task on its last attempt is not failed by a worker's shutdown. It
 * no longer belongs to the member (`memberId` cleared): a repeat of the report, or a
 * heartbeat still listing it, is refused rather than re-attached.
 */
export function handBackAttempt(
  ctx: HandBackContext,
  nowMs: number,
  task: TaskRecord,
): Changes & { task: TaskRecord } {
  switch (task.status) {
    case 'running':
      ctx.slots.release(task.memberId, task.id);
      if (beforeRunTime(task, nowMs)) ctx.index.setStatus(task, 'scheduled');
      else {
        // Its own place (its queueSeq is kept while it runs), not the head: reports of
        // several arrive one by one, and each at the head would reverse their order.
        ctx.index.setStatus(task, 'pending');
        ctx.queue.push(task);
      }
      break;
    case 'pending':
      // Requeued already (its member was lost and came back before anyone took it).
      if (task.attemptEnded) {
        throw new StaleError(`attempt ${task.attempt} of task ${task.id} has already ended`);
      }
      // Its loss may have been left out of the budget already (unbegun-loss.ts): once.
      countLossAgain(task);
      break;
    case 'completed':
    case 'error':
    case 'cancelled':
      // Ended meanwhile (cancelled, or completed by hand): the slot it held is free.
      ctx.slots.release(task.memberId, task.id);
      return { task, changed: [] };
    case 'scheduled':
      // A timed start its member was lost before, waiting for its run time again with its
      // attempt out of the budget already (see rescheduleEarly): now not its member's.
      task.memberId = undefined;
      return { task, changed: [task] };
  }
  task.attemptBase++;
  task.memberId = undefined;
  task.handedBackAttempt = task.attempt;
  return { task, changed: [task] };
}
