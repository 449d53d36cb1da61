import {
  HeartbeatStatus,
  type FinishedTask,
  type HeartbeatRequest,
  type RunningTask,
} from '../gen/cluster/v1/leader.js';
import type { AttemptOutcome } from './outcome.js';
import type { OutboxLoad } from './outbox.js';

/** The worker's state as one heartbeat tells it. */
export interface WorkerState {
  readonly id: string;
  /** The secret this process's Join returned; every heartbeat carries it. */
  readonly session: string;
  /** Set while the worker reports FAILED, with why. */
  readonly failedReason: string | undefined;
  readonly draining: boolean;
  /** What runs, to send; empty on a heartbeat that only carries reports or output. */
  readonly running: RunningTask[];
  /**
   * Attempts it has begun: with `running` listed, all it has begun and not ended; else
   * those begun since the last message (the outbox's).
   */
  readonly began: RunningTask[];
  /** How many attempts run (the status says BUSY or IDLE by it, listed or not). */
  readonly runningCount: number;
  readonly freeSlots: number;
}

/** FAILED while a reason is set, else BUSY while anything runs, else IDLE. */
export function heartbeatStatus(
  failedReason: string | undefined,
  runningCount: number,
): HeartbeatStatus {
  if (failedReason !== undefined) return HeartbeatStatus.HEARTBEAT_STATUS_FAILED;
  return runningCount > 0
    ? HeartbeatStatus.HEARTBEAT_STATUS_BUSY
    : HeartbeatStatus.HEARTBEAT_STATUS_IDLE;
}

/** A report as it goes on the wire. */
export function finishedTask(outcome: AttemptOutcome): FinishedTask {
  const { id, attempt, result, error, permanent, notStarted } = outcome;
  return {
    id,
    attempt,
    result,
    error,
    permanent: permanent === true,
    notStarted: notStarted === true,
  };
}

/**
 * One heartbeat: liveness, what runs, the outbox's output and reports, and its serial (the
 * leader echoes it; see key-fence.ts).
 */
export function buildHeartbeat(
  state: WorkerState,
  load: OutboxLoad,
  serial: number,
): HeartbeatRequest {
  return {
    id: state.id,
    session: state.session,
    status: heartbeatStatus(state.failedReason, state.runningCount),
    statusReason: state.failedReason ?? '',
    freeSlots: state.freeSlots,
    running: state.running,
    began: state.began,
    draining: state.draining,
    finished: load.reports.map(finishedTask),
    output: load.output,
    serial,
  };
}
