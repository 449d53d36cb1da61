import type { MemberId, TaskId } from '../shared/ids.js';

/** What the scheduler tracks of a member that can run work. */
export interface Worker {
  readonly id: MemberId;
  slots: number;
  kinds: ReadonlySet<string>;
  /**
   * Tasks holding a slot (running, or cancelled and not yet reported stopped), with their
   * concurrency keys.
   */
  readonly running: Map<TaskId, string | undefined>;
  /**
   * Attempts (`id#attempt`) the leader has given up on (timed out) but the worker was
   * told to stop and has not yet reported: they still hold a slot, since the worker may
   * still be running them, until the worker reports them or is lost.
   */
  readonly stopping: Map<
    string,
    { readonly taskId: TaskId; readonly key: string | undefined; readonly attempt: number }
  >;
  eligible: boolean;
  /** It starts a task handed ahead at the task's run time (JoinRequest.timed_starts). */
  timedStarts: boolean;
}
