import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type {
  CancelTaskResponse,
  SchedulerServiceClient,
  Task,
} from '../gen/scheduler/v1/scheduler.js';
import { unaryCall } from '../shared/unary-call.js';
import { brokeBecause, type SettingNames } from '../shared/connection-details.js';
import { leaderHint } from '../shared/leader-hint.js';
import type { FollowedConnection } from './leader-rotation.js';

/** What a cancel did, as CancelTask answers. */
export interface CancelOutcome {
  /** The task as it is now. */
  readonly task: Task;
  /** It was running: its worker was told to stop it. */
  readonly stopSent: boolean;
  /** It was cancelled before this call: nothing changed. */
  readonly alreadyCancelled: boolean;
}

/** A refusal or failure of a call, with its gRPC code (what `ScheduleError` carries). */
export type CallError = (code: status, message: string) => Error;

/**
 * Cancels the task `id` on the leaders the connection follows: CancelTask on the one in
 * use and, when that is UNAVAILABLE (a standby naming the active one, a leader gone), on
 * the next, at most once per listed leader and one more. Safe to repeat: a task cancelled
 * before says so (`alreadyCancelled`) and changes nothing. Anything else (NOT_FOUND,
 * FAILED_PRECONDITION for a task that has ended, DEADLINE_EXCEEDED) rejects at once.
 */
export async function cancelTask(
  leaders: FollowedConnection<SchedulerServiceClient>,
  id: string,
  { timeoutMs, tries, settingNames, error }: CancelSettings,
): Promise<CancelOutcome> {
  let last: ServiceError | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    const on = leaders.address;
    let answer: CancelTaskResponse;
    try {
      const client = leaders.current;
      answer = await unaryCall(client.cancelTask.bind(client), { id }, timeoutMs);
    } catch (err) {
      last = asServiceError(err);
      // Only UNAVAILABLE moves the connection, which schedule() and result() share: a leader
      // slow past the deadline may still be the active one, and is left to the caller.
      if (last.code !== status.UNAVAILABLE) throw error(last.code, last.details);
      leaders.move(leaderHint(last), on);
      continue;
    }
    if (answer.task === undefined) throw error(status.INTERNAL, 'the leader answered with no task');
    return {
      task: answer.task,
      stopSent: answer.stopSent,
      alreadyCancelled: answer.alreadyCancelled,
    };
  }
  throw error(
    status.UNAVAILABLE,
    `no leader took the cancel of task ${id}; last: ${brokeBecause(last!, settingNames)}`,
  );
}

/** How {@link cancelTask} calls: its deadline, how many leaders it tries, its errors. */
export interface CancelSettings {
  readonly timeoutMs: number;
  readonly tries: number;
  readonly settingNames: SettingNames;
  readonly error: CallError;
}

/** A call's failure as grpc-js words it; anything else (a closed channel) as UNAVAILABLE. */
function asServiceError(err: unknown): ServiceError {
  if (typeof (err as ServiceError | null)?.code === 'number') return err as ServiceError;
  const message = err instanceof Error ? err.message : String(err);
  return Object.assign(new Error(message), {
    code: status.UNAVAILABLE,
    details: message,
    metadata: new Metadata(),
  });
}
