import { StaleError } from '../shared/errors.js';
import { retryDelayMs, type TaskPolicyDefaults } from './retry-policy.js';
import type { AttemptFailure, Changes, CompletionReport, StopOrder } from './scheduler-types.js';
import { attemptsInSeries, type TaskRecord, outOfAttempts } from './task.js';
import { countLossAgain, notHeardBegun } from './unbegun-loss.js';
import { finishTask, unqueueTask, type QueueContext } from './task-moves.js';
import type { StopWaits } from './stop-waits.js';
import type { KeyLimits } from './key-limits.js';
import type { WorkerSlots } from './worker-slots.js';
import { handBackAttempt } from './hand-back.js';

/**
 * What deciding how an attempt ended needs: the queue moves, the workers' slots (a report
 * or a timeout frees or marks one), and the policy that caps retry backoffs.
 */
export interface AttemptContext extends QueueContext {
  readonly slots: WorkerSlots;
  readonly policy: TaskPolicyDefaults;
  /** Told that a member reported an attempt's end: it runs there no more. */
  readonly keyLimits: Pick<KeyLimits, 'claimed'>;
  /** Retries waiting for their task's stopped attempt to end. */
  readonly stopWaits: StopWaits;
}

/** Records the end of an attempt; the rules are {@link Scheduler.complete}'s. */
export function completeAttempt(
  ctx: AttemptContext,
  nowMs: number,
  report: CompletionReport,
): Changes & { task: TaskRecord; stop?: StopOrder } {
  // A member's report says the attempt runs there no more, even a report refused as stale
  // (the task moved on): a place it held under its key as a lost worker is free again.
  if (report.memberId !== undefined) {
    ctx.keyLimits.claimed(report.taskId, report.attempt, report.memberId);
  }
  if (report.notStarted === true && report.memberId !== undefined) {
    return handBackAttempt(ctx, nowMs, reportedTask(ctx, report));
  }
  const task = reportedTask(ctx, report);
  switch (task.status) {
    case 'scheduled':
      // Unreachable (reportedTask refuses a task with no attempt), but never completed.
      throw new StaleError(`task ${task.id} is scheduled; it has not started`);
    case 'completed':
    case 'error':
      // A duplicate, or the worker's own report after a manual completion: the
      // recorded result stands, and the worker's slot is free again.
      if (report.memberId !== undefined) ctx.slots.release(task.memberId, task.id);
      // An operator's repeat is answered as done; one saying otherwise is told it lost.
      else refuseOtherOutcome(task, report);
      return { task, changed: [] };
    case 'cancelled':
      // The worker confirms the stop: its slot is free again; the task stays cancelled.
      ctx.slots.release(task.memberId, task.id);
      return { task, changed: [] };
    case 'pending':
      // Requeued because its member was lost, then reported done by that same member
      // before anyone else took it: keep the result rather than run it twice.
      if (report.memberId === undefined) {
        throw new StaleError(`task ${task.id} is pending; only a running task can be completed`);
      }
      if (task.attemptEnded) {
        // A repeat of the report that already failed this attempt; a retry is scheduled.
        throw new StaleError(
          `attempt ${task.attempt} of task ${task.id} has already ended (${task.error ?? 'failed'}); a retry is scheduled`,
        );
      }
      // It ran after all: a loss not counted as its worker never said it began counts now,
      // and the attempt ends by this report, not as lost (see attempt-log.ts).
      countLossAgain(task);
      task.lostAttempt = undefined;
      unqueueTask(ctx, task);
      break;
    case 'running':
      if (report.memberId === undefined) return completeByHand(ctx, nowMs, task, report);
      // A timed start's attempt counts from its run time (its start time), not the hand-off.
      ctx.slots.observeAttempt(
        task.memberId,
        Math.max(0, nowMs - (task.startedAtMs ?? nowMs)),
        task.kind,
      );
      ctx.slots.release(task.memberId, task.id);
      break;
  }
  task.result = report.result;
  if (report.error !== undefined) {
    failAttempt(ctx, nowMs, task, report.error, report.permanent === true);
    return { task, changed: [task] };
  }
  task.error = undefined;
  finishTask(ctx.index, task, nowMs, 'completed');
  return { task, changed: [task] };
}

/**
 * The task a report is about, once the report is known to be of its current attempt and
 * from the member that holds it; otherwise throws {@link StaleError}, having changed
 * nothing but (for a timed-out attempt) the slot the report frees.
 */
function reportedTask(ctx: AttemptContext, report: CompletionReport): TaskRecord {
  if (
    report.memberId !== undefined &&
    ctx.slots.releaseStopping(report.memberId, report.taskId, report.attempt)
  ) {
    // The leader gave up on this attempt (it timed out) and told the worker to stop it:
    // the report frees the slot, but the outcome was decided already. Checked before
    // the task is looked up: it may have been pruned since.
    throw new StaleError(
      `attempt ${report.attempt} of task ${report.taskId} timed out and was stopped; its report is not recorded`,
    );
  }
  const task = ctx.index.require(report.taskId);
  const attempt = report.attempt === 0 ? task.attempt : report.attempt;
  if (attempt !== task.attempt || attempt === 0) {
    throw new StaleError(
      task.attempt === 0
        ? `task ${task.id} has not started; there is no attempt to complete`
        : `attempt ${attempt} of task ${task.id} is no longer current (current attempt: ${task.attempt})`,
    );
  }
  if (report.memberId !== undefined && report.memberId !== task.memberId) {
    throw new StaleError(
      `attempt ${attempt} of task ${task.id} belongs to member ${task.memberId ?? '(none)'}, not ${report.memberId}`,
    );
  }
  return task;
}

/**
 * An operator's completion of a finished task must say what was recorded (a retry of
 * the same call); one that says otherwise would be answered as if it had been recorded.
 */
function refuseOtherOutcome(task: TaskRecord, report: CompletionReport): void {
  const failed = report.error !== undefined;
  const text = (failed ? report.error : report.result) ?? '';
  const recorded = (task.status === 'error' ? task.error : task.result) ?? '';
  if (failed === (task.status === 'error') && text === recorded) return;
  const outcome = (isError: boolean, what: string): string =>
    `${isError ? 'failed with error' : 'completed with result'} ${quoteShort(what)}`;
  throw new StaleError(
    `task ${task.id} already ${outcome(task.status === 'error', recorded)}; this completion (${failed ? 'error' : 'result'} ${quoteShort(text)}) is not recorded`,
  );
}

/** Text for a message: quoted, and cut past 60 characters. */
function quoteShort(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/**
 * Completed by hand while its worker still runs it: like a cancel, the worker is told to
 * stop and its slot stays taken until it reports.
 */
function completeByHand(
  ctx: AttemptContext,
  nowMs: number,
  task: TaskRecord,
  report: CompletionReport,
): Changes & { task: TaskRecord; stop: StopOrder } {
  task.result = report.result;
  task.error = report.error;
  finishTask(ctx.index, task, nowMs, report.error === undefined ? 'completed' : 'error');
  const stop: StopOrder = {
    memberId: task.memberId!,
    taskId: task.id,
    attempt: task.attempt,
    reason: 'completed by an operator',
  };
  return { task, changed: [task], stop };
}

/** Stops and fails running attempts past their timeout; see {@link Scheduler.expire}. */
export function expireAttempts(
  ctx: AttemptContext,
  nowMs: number,
): Changes & { stops: StopOrder[]; failures: AttemptFailure[] } {
  const changed: TaskRecord[] = [];
  const stops: StopOrder[] = [];
  const failures: AttemptFailure[] = [];
  for (const task of ctx.index.pastDeadline(nowMs)) {
    const memberId = task.memberId!;
    if (notHeardBegun(task, ctx.slots.sendsBeganNotices(memberId))) {
      ctx.index.restartTimeout(task, nowMs);
      continue;
    }
    const reason = `attempt ${task.attempt} timed out after ${task.timeoutMs} ms`;
    ctx.slots.markStopping(memberId, task.id, task.attempt);
    stops.push({ memberId, taskId: task.id, attempt: task.attempt, reason });
    failures.push({ memberId, task });
    failAttempt(ctx, nowMs, task, reason);
    changed.push(task);
  }
  return { changed, stops, failures };
}

/**
 * An attempt failed (the handler's error, or a timeout): the task is retried after its
 * backoff while it has attempts left, and otherwise ends in error with this error kept.
 */
function failAttempt(
  ctx: AttemptContext,
  nowMs: number,
  task: TaskRecord,
  error: string,
  permanent = false,
): void {
  task.error = error;
  if (permanent || outOfAttempts(task)) {
    finishTask(ctx.index, task, nowMs, 'error');
    return;
  }
  ctx.index.setStatus(task, 'pending');
  task.attemptEnded = true;
  const delayMs = retryDelayMs(
    task.retryBackoffMs,
    attemptsInSeries(task),
    ctx.policy.retryBackoffMaxMs,
  );
  if (delayMs === 0) {
    ctx.stopWaits.requeue(ctx, [task]);
    return;
  }
  ctx.index.delay(task, nowMs + delayMs);
}
