import { TaskStatus, type Task } from '../gen/scheduler/v1/scheduler.js';

/** A task that ended without completing, as a producer's `result()` rejects with it. */
export class TaskFailedError extends Error {
  /** `error`: it failed for good (its attempts used up, or a permanent failure). */
  readonly status: 'error' | 'cancelled';

  constructor(
    /** The task as it ended: its error, attempts, member and times. */
    readonly task: Task,
  ) {
    const cancelled = task.status === TaskStatus.TASK_STATUS_CANCELLED;
    super(
      cancelled
        ? `task ${task.id} was cancelled`
        : `task ${task.id} failed after ${task.attempt} attempt(s): ${task.error ?? 'no error given'}`,
    );
    this.name = 'TaskFailedError';
    this.status = cancelled ? 'cancelled' : 'error';
  }
}

/** A task's result if it completed; else throws the {@link TaskFailedError} it ended with. */
export function resultOf(task: Task): string {
  if (task.status === TaskStatus.TASK_STATUS_COMPLETED) return task.result ?? '';
  throw new TaskFailedError(task);
}
