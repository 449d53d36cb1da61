import type { MemberId, TaskId } from '../shared/ids.js';
import type { TaskRecord, TaskStatus } from './task.js';

/**
 * Which tasks a filtered watch shows (shared by the gRPC and SSE adapters). A change is
 * sent when the task matches after it, and also when it matched before and no longer does,
 * so a watcher of running tasks sees each one leave. Pure: it remembers only which ids it
 * has shown.
 */
export class TaskWatchFilter {
  private readonly shown = new Set<TaskId>();

  constructor(
    private readonly status: TaskStatus | undefined,
    private readonly memberId: MemberId | undefined,
    private readonly kind: string | undefined = undefined,
    /** Only this task (the watch's snapshot is then that one task). */
    readonly id: TaskId | undefined = undefined,
  ) {}

  /** True when the watch has no filter: every task is shown, nothing is remembered. */
  get open(): boolean {
    return (
      this.status === undefined &&
      this.memberId === undefined &&
      this.kind === undefined &&
      this.id === undefined
    );
  }

  /** Whether to send this task (as it is now) to the watcher. */
  admit(task: TaskRecord): boolean {
    if (this.open) return true;
    const matches =
      (this.status === undefined || task.status === this.status) &&
      (this.memberId === undefined || task.memberId === this.memberId) &&
      (this.kind === undefined || task.kind === this.kind) &&
      (this.id === undefined || task.id === this.id);
    if (matches) {
      this.shown.add(task.id);
      return true;
    }
    return this.shown.delete(task.id);
  }

  /** Whether a deleted task was one the watcher could see. */
  admitDeleted(id: TaskId): boolean {
    return this.open || this.shown.delete(id);
  }
}
