import type { TaskId } from '../shared/ids.js';
import type {
  NewTask,
  RecallOrder,
  RunningAttempt,
  StartOrder,
  StopOrder,
} from '../scheduler/scheduler.js';
import type { HeartbeatReport, Member } from './membership/registry.js';

/** How the leader reaches a worker: its heartbeat stream, seen from the leader. */
export interface WorkChannel {
  /**
   * `trace`: the W3C trace context the worker's run span joins, when the leader traces;
   * `startInMs`: a timed start, to begin this long after the worker receives it.
   */
  start(order: StartOrder, trace?: Readonly<Record<string, string>>, startInMs?: number): void;
  stop(order: StopOrder): void;
  /** Asks the worker to hand the attempt back if it has not begun it (see held-recall.ts). */
  recall(order: RecallOrder): void;
  /** Ends the stream with UNAVAILABLE and this message. */
  close(reason: string): void;
}

/** A member as the Members RPC shows it. */
export interface MemberView {
  readonly member: Member;
  readonly runningTaskIds: readonly TaskId[];
  readonly slotsFree: number;
  /** Slots held by timed-out attempts the worker was told to stop and has not reported. */
  readonly slotsStopping: number;
  readonly heartbeatAgeMs: number | undefined;
}

/** A task to schedule; the leader makes the id when none is given. */
export type NewTaskInput = Omit<NewTask, 'id'> & { readonly id?: string | undefined };

/** A heartbeat, decoded by the stream adapter. */
export interface HeartbeatInput extends HeartbeatReport {
  readonly running: readonly RunningAttempt[];
  /** Attempts it says it has begun (HeartbeatRequest.began); empty from older workers. */
  readonly began?: readonly RunningAttempt[] | undefined;
}
