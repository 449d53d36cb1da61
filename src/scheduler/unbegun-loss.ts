import type { MemberId } from '../shared/ids.js';
import type { RunningAttempt } from './scheduler-types.js';
import type { TaskRecord } from './task.js';
import type { TaskIndex } from './task-index.js';

/**
 * Losses of a worker before it began the task that one task may have without spending an
 * attempt. Bounded, because a notice can fail to leave: a handler that kills its process
 * in the very turn it begins (a native crash, `process.exit`) would otherwise take down
 * worker after worker and never run out of attempts.
 */
export const MAX_UNCOUNTED_LOSSES = 2;

/**
 * True if losing its worker should not cost the task an attempt: the worker sends began
 * notices (JoinRequest.began_notices), none came for this attempt, so it only held the
 * task (ahead of a free slot, or the start order was on its way), and the task has not
 * used up its uncounted losses.
 */
export function lostBeforeBegun(task: TaskRecord, workerSendsNotices: boolean): boolean {
  return (
    notHeardBegun(task, workerSendsNotices) && (task.uncountedLosses ?? 0) < MAX_UNCOUNTED_LOSSES
  );
}

/**
 * Takes the lost attempt out of the attempt budget (`attemptBase`), as a hand-back does:
 * it keeps its number, so its worker may still re-attach or report it (then
 * {@link countLossAgain} puts it back).
 */
export function forgiveLoss(task: TaskRecord): void {
  task.attemptBase++;
  task.uncountedLossAttempt = task.attempt;
  task.uncountedLosses = (task.uncountedLosses ?? 0) + 1;
}

/**
 * The attempt whose loss was not counted is its worker's again (re-attached) or was run
 * (reported): it counts against the budget again. No-op for any other attempt.
 */
export function countLossAgain(task: TaskRecord): void {
  if (task.uncountedLossAttempt === undefined || task.uncountedLossAttempt !== task.attempt) {
    return;
  }
  task.attemptBase--;
  task.uncountedLossAttempt = undefined;
  task.uncountedLosses = Math.max(0, (task.uncountedLosses ?? 1) - 1);
}

/**
 * Marks the attempts a worker says it began, if they are still its current ones. Their
 * timeouts count from now: a task held ahead of a free slot must not run out of time
 * before it runs.
 */
export function noteBegan(
  index: Pick<TaskIndex, 'get' | 'restartTimeout'>,
  nowMs: number,
  memberId: MemberId,
  began: readonly RunningAttempt[],
): void {
  for (const { taskId, attempt } of began) {
    const task = index.get(taskId);
    if (task === undefined || task.attempt !== attempt || task.memberId !== memberId) continue;
    if (task.begunAttempt === attempt) continue;
    task.begunAttempt = attempt;
    task.begunAtMs = nowMs;
    index.restartTimeout(task, Math.max(nowMs, task.startedAtMs ?? nowMs));
  }
}

/**
 * True if the task's worker sends began notices (JoinRequest.began_notices) and has not
 * said it began the current attempt: it only holds it. Such a task past its deadline has
 * its timeout put off a whole timeout (it starts again when the notice comes) instead of
 * failing; losing its worker does not count the attempt (see {@link lostBeforeBegun}).
 */
export function notHeardBegun(task: TaskRecord, workerSendsNotices: boolean): boolean {
  return workerSendsNotices && task.begunAttempt !== task.attempt;
}
