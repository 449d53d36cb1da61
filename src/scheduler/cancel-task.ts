import { StaleError } from '../shared/errors.js';
import type { TaskId } from '../shared/ids.js';
import type { Changes, StopOrder } from './scheduler-types.js';
import type { TaskRecord } from './task.js';
import { finishTask, unqueueTask, type QueueContext } from './task-moves.js';

/**
 * Cancels a task (see Scheduler.cancel): a waiting one at once; a running one is marked
 * and its worker told to stop, its slot staying taken until the worker reports the stop.
 */
export function cancelTask(
  ctx: QueueContext,
  nowMs: number,
  id: TaskId,
): Changes & { task: TaskRecord; stop?: StopOrder } {
  const task = ctx.index.require(id);
  switch (task.status) {
    case 'cancelled':
      return { task, changed: [] };
    case 'scheduled':
      finishTask(ctx.index, task, nowMs, 'cancelled');
      return { task, changed: [task] };
    case 'completed':
    case 'error':
      throw new StaleError(`task ${id} has already finished (${task.status}); nothing to cancel`);
    case 'pending':
      unqueueTask(ctx, task);
      finishTask(ctx.index, task, nowMs, 'cancelled');
      return { task, changed: [task] };
    case 'running': {
      // The slot stays taken until the worker reports the attempt stopped.
      finishTask(ctx.index, task, nowMs, 'cancelled');
      const stop: StopOrder = {
        memberId: task.memberId!,
        taskId: id,
        attempt: task.attempt,
        reason: 'cancelled',
      };
      return { task, changed: [task], stop };
    }
  }
}
