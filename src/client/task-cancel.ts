import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { SchedulerServiceClient, Task } from '../gen/scheduler/v1/scheduler.js';
import { brokeBecause } from '../shared/connection-details.js';
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
 * use and, when that is UNAVAILABLE (a standby naming the active one, a leader gone) or
 * silent past the deadline, on
 * the next, at most once per listed leader and one more. Safe to repeat: a task cancelled
 * before says so (`alreadyCancelled`) and changes nothing. Anything else the leader
 * answers (NOT_FOUND, FAILED_PRECONDITION for a task that has ended) rejects at once.
 */
export async function cancelTask(
  leaders: FollowedConnection<SchedulerServiceClient>,
  id: string,
  { timeoutMs, tries, leaderSetting, error }: CancelSettings,
): Promise<CancelOutcome> {
  let last: ServiceError | undefined;
  for (let attempt = 0; attempt < tries; attempt++) {
    const on = leaders.address;
    try {
      const answer = await callCancel(leaders.current, id, timeoutMs);
      return {
        task: answer.task!,
        stopSent: answer.stopSent,
        alreadyCancelled: answer.alreadyCancelled,
      };
    } catch (err) {
      last = err as ServiceError;
      // A leader that did not answer in time may be frozen: the next one is asked (the
      // cancel is safe to repeat, whether or not the first one landed).
      const moves = last.code === status.UNAVAILABLE || last.code === status.DEADLINE_EXCEEDED;
      if (!moves) throw error(last.code, last.details);
      leaders.move(leaderHint(last), on);
    }
  }
  throw error(
    status.UNAVAILABLE,
    `no leader took the cancel of task ${id}; last: ${brokeBecause(last!, leaderSetting)}`,
  );
}

/** How {@link cancelTask} calls: its deadline, how many leaders it tries, its errors. */
export interface CancelSettings {
  readonly timeoutMs: number;
  readonly tries: number;
  readonly leaderSetting: string;
  readonly error: CallError;
}

function callCancel(
  client: SchedulerServiceClient,
  id: string,
  timeoutMs: number,
): Promise<{ task?: Task | undefined; stopSent: boolean; alreadyCancelled: boolean }> {
  return new Promise((resolve, reject) => {
    client.cancelTask(
      { id },
      new Metadata(),
      { deadline: new Date(Date.now() + timeoutMs) },
      (err, answer) => (err ? reject(err) : resolve(answer)),
    );
  });
}
