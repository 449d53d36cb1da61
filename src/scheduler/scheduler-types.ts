import type { MemberId, TaskId } from '../shared/ids.js';
import type { Priority, TaskRecord } from './task.js';

/** Tells the adapter to start an attempt on a member (sent down its heartbeat stream). */
export interface StartOrder {
  readonly memberId: MemberId;
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
  /** The task's concurrency key: the worker fences such an attempt (see key-fence.ts). */
  readonly concurrencyKey: string | undefined;
  /** The task's priority: a worker starts the higher of the tasks it holds ahead first. */
  readonly priority: Priority;
  /**
   * Handed to a worker whose slots were all busy (prefetch): it waits there for a slot.
   * Absent on an ordinary start.
   */
  readonly ahead?: true;
  /**
   * A timed start: the worker holds the task and starts it at this time (its run time,
   * epoch ms), not at once. Absent on an ordinary start.
   */
  readonly startAtMs?: number;
}

/** Tells the adapter to stop an attempt on a member. */
export interface StopOrder {
  readonly memberId: MemberId;
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly reason: string;
}

/** A worker's (or an operator's) report that an attempt ended. */
export interface CompletionReport {
  readonly taskId: TaskId;
  /** 0 means "the current attempt", for a manual completion. */
  readonly attempt: number;
  /** Undefined for a manual completion. */
  readonly memberId?: MemberId | undefined;
  readonly result?: string | undefined;
  readonly error?: string | undefined;
  /** With `error`: no retry, the task fails now. */
  readonly permanent?: boolean | undefined;
  /**
   * The member hands the attempt back without having started its handler (it held the
   * task ahead and is draining): the task takes its queue place again and the attempt
   * costs nothing. Wins over `error`, which a worker sets too for leaders before this.
   */
  readonly notStarted?: boolean | undefined;
}

/** One attempt a worker says it runs. */
export interface RunningAttempt {
  readonly taskId: TaskId;
  readonly attempt: number;
}

/** Tasks whose records changed and must be persisted before anything is acted on. */
export interface Changes {
  readonly changed: TaskRecord[];
}

/** Attempts that ended on the leader's side (failed over, timed out) for one member. */
export interface AttemptFailure {
  readonly memberId: MemberId;
  readonly task: TaskRecord;
}
