/**
 * Finished tasks, once they are done: re-running a failed one (a dead letter) as a new
 * series of attempts, listing the failed ones, and pruning past the retention.
 */
import { StaleError } from '../shared/errors.js';
import type { TaskId } from '../shared/ids.js';
import type { Changes } from './scheduler-types.js';
import { isFinal, type TaskRecord } from './task.js';
import { queueAtTail, type QueueContext } from './task-moves.js';
import type { WorkerSlots } from './worker-slots.js';

/** What re-running a failed task needs: the queue moves, and the slots it must not hold. */
export interface FinishedTaskContext extends QueueContext {
  readonly slots: Pick<WorkerSlots, 'holdsSlot'>;
}

/**
 * Re-runs a failed task (a dead letter) as a new series of attempts: it goes to the tail
 * of its priority with `maxAttempts` attempts again, numbered on from the last one (so a
 * late report of an old attempt is still refused), its last error kept until the next
 * attempt ends. Only a task in error can be re-run, and not while its last attempt is
 * still stopping on its worker (it holds a slot).
 */
export function rerunTask(ctx: FinishedTaskContext, id: TaskId): Changes & { task: TaskRecord } {
  const task = ctx.index.require(id);
  if (task.status !== 'error') {
    throw new StaleError(`task ${id} is ${task.status}; only a failed task (error) can be re-run`);
  }
  if (ctx.slots.holdsSlot(task.memberId, task.id)) {
    throw new StaleError(`task ${id} is still stopping on member ${task.memberId}; try again`);
  }
  task.attemptBase = task.attempt;
  task.attemptEnded = false;
  task.result = undefined;
  task.finishedAtMs = undefined;
  task.retryAtMs = undefined;
  queueAtTail(ctx, [task]);
  return { task, changed: [task] };
}

/** The failed tasks (of `kind`, if given), oldest first, at most `limit`. */
export function failedTasks(
  ctx: Pick<QueueContext, 'index'>,
  kind: string | undefined,
  limit: number,
): TaskRecord[] {
  // Failed tasks are pruned with the other finished ones, so the walk is bounded by them.
  const failed = ctx.index.failed(kind === undefined ? limit : Number.MAX_SAFE_INTEGER);
  return (kind === undefined ? failed : failed.filter((t) => t.kind === kind)).slice(0, limit);
}

/**
 * Forgets finished tasks beyond the retention; the rules are {@link Scheduler.prune}'s. A
 * task still stopping on its worker (it holds a slot) is skipped, never dropped.
 */
export function pruneFinished(
  ctx: FinishedTaskContext,
  options: { keep: number; finishedBeforeMs: number; limit: number },
): TaskRecord[] {
  const removed: TaskRecord[] = [];
  let excess = ctx.index.finishedCount - options.keep;
  for (const task of ctx.index.finishedOldestFirst()) {
    if (removed.length >= options.limit) break;
    const tooOld = (task.finishedAtMs ?? 0) < options.finishedBeforeMs;
    if (excess <= 0 && !tooOld) break; // finish order: everything after is newer
    if (ctx.slots.holdsSlot(task.memberId, task.id)) continue;
    ctx.index.drop(task);
    removed.push(task);
    excess--;
  }
  return removed;
}

/** Forgets one finished task now (an operator's delete); see Scheduler.forget. */
export function forgetFinished(ctx: FinishedTaskContext, id: TaskId): TaskRecord {
  const task = ctx.index.require(id);
  if (!isFinal(task.status)) {
    throw new StaleError(`task ${id} is ${task.status}; cancel it before deleting it`);
  }
  if (ctx.slots.holdsSlot(task.memberId, task.id)) {
    throw new StaleError(`task ${id} is still stopping on member ${task.memberId}; try again`);
  }
  ctx.index.drop(task);
  return task;
}
