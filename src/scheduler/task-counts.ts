import type { TaskId } from '../shared/ids.js';

/** A count per task that is absent at zero (attempts told to stop and not reported, say). */
export class TaskCounts {
  private readonly counts = new Map<TaskId, number>();

  /** One more for the task. */
  add(taskId: TaskId): void {
    this.counts.set(taskId, (this.counts.get(taskId) ?? 0) + 1);
  }

  /** One fewer for the task; at zero it is no longer counted. */
  remove(taskId: TaskId): void {
    const count = (this.counts.get(taskId) ?? 0) - 1;
    if (count > 0) this.counts.set(taskId, count);
    else this.counts.delete(taskId);
  }

  /** True while the task's count is above zero. */
  has(taskId: TaskId): boolean {
    return this.counts.has(taskId);
  }
}
