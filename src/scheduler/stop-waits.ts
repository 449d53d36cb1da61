import type { TaskId } from '../shared/ids.js';
import type { TaskRecord } from './task.js';
import { requeueAtHead, type QueueContext } from './task-moves.js';
import type { WorkerSlots } from './worker-slots.js';

/** What parking and releasing retries read: the queue, and which attempts still stop. */
export interface StopWaitContext extends QueueContext {
  readonly slots: Pick<WorkerSlots, 'holdsSlot'>;
  readonly stopWaits: StopWaits;
}

/**
 * Retries that wait for their task's stopped attempt to end. An attempt that timed out is
 * told to stop and keeps its slot until its worker reports it ended (or is lost); the
 * task's next attempt must not start before then, or it would run beside the old one (a
 * command deaf to SIGTERM runs on until its worker's kill grace; a handler that ignores
 * its signal, until the stop grace). A retry that falls due meanwhile is parked here,
 * pending but out of the queue, and goes to the head of its priority once the old attempt
 * has ended. Pure; holds at most one task per stopping attempt.
 */
export class StopWaits {
  private readonly parked = new Set<TaskId>();

  /** True while the task's retry waits here for its stopped attempt to end. */
  has(id: TaskId): boolean {
    return this.parked.has(id);
  }

  get size(): number {
    return this.parked.size;
  }

  /**
   * Queues retries at the head of their priority, except those whose task still has an
   * attempt stopping: parked. Returns all of them (each changed).
   */
  requeue(ctx: StopWaitContext, tasks: TaskRecord[]): TaskRecord[] {
    const free: TaskRecord[] = [];
    for (const task of tasks) {
      if (ctx.slots.holdsSlot(undefined, task.id)) this.parked.add(task.id);
      else free.push(task);
    }
    const parked = tasks.filter((task) => this.parked.has(task.id));
    return [...requeueAtHead(ctx, free), ...parked];
  }

  /**
   * Queues the parked retries whose stopped attempt has ended; forgets those no longer
   * pending (cancelled, or pruned). Returns the tasks queued.
   */
  release(ctx: StopWaitContext): TaskRecord[] {
    if (this.parked.size === 0) return [];
    const ready: TaskRecord[] = [];
    for (const id of this.parked) {
      const task = ctx.index.get(id);
      if (task?.status !== 'pending') this.parked.delete(id);
      else if (!ctx.slots.holdsSlot(undefined, id)) {
        this.parked.delete(id);
        ready.push(task);
      }
    }
    return requeueAtHead(ctx, ready);
  }
}
