import type { MemberId } from '../shared/ids.js';
import type { KeyLimits } from './key-limits.js';
import type { Changes, StartOrder } from './scheduler-types.js';
import { attemptsInSeries, type TaskRecord } from './task.js';
import { finishTask, type QueueContext } from './task-moves.js';
import type { WorkerSlots } from './worker-slots.js';

/** What an assignment round reads and changes: the queue, the slots, the key limits. */
export interface AssignContext extends QueueContext {
  readonly slots: WorkerSlots;
  readonly keyLimits: Pick<KeyLimits, 'started'>;
}

/**
 * Fills every free slot of every eligible worker, round-robin so work spreads. Cost is
 * O(assignments + eligible workers that find nothing to take), never a scan of tasks.
 */
export function assignRound(ctx: AssignContext, nowMs: number): Changes & { starts: StartOrder[] } {
  const { queue, slots, index } = ctx;
  const starts: StartOrder[] = [];
  const changed: TaskRecord[] = [];
  // A worker that finds nothing goes to the back; once every ready worker in a row has
  // found nothing, nothing more can be assigned now.
  let misses = 0;
  while (queue.size > 0 && slots.readyCount > 0 && misses < slots.readyCount) {
    const worker = slots.nextReady()!;
    const entry = queue.takeFor(worker);
    if (entry === undefined) {
      slots.putBack(worker.id);
      misses++;
      continue;
    }
    misses = 0;
    const task = index.get(entry.id)!;
    if (attemptsInSeries(task) >= task.maxAttempts) {
      // Requeued after its worker was lost on its last attempt, and nobody re-attached
      // it: another start would exceed its budget, so it fails here instead.
      task.error = `${task.error ?? 'its member was lost'}; no attempts left (max ${task.maxAttempts})`;
      finishTask(index, task, nowMs, 'error');
      changed.push(task);
      slots.putBack(worker.id);
      continue;
    }
    starts.push(startAttempt(ctx, nowMs, task, worker.id));
    changed.push(task);
  }
  return { changed, starts };
}

/** Starts a task's next attempt on a worker just taken from the line, which has a free slot. */
function startAttempt(
  ctx: AssignContext,
  nowMs: number,
  task: TaskRecord,
  memberId: MemberId,
): StartOrder {
  const ahead = !ctx.slots.hasFreeSlot(memberId);
  // Start time first: entering `running` files the task under its deadline.
  task.startedAtMs = nowMs;
  task.attempt++;
  task.attemptEnded = false;
  task.memberId = memberId;
  ctx.index.setStatus(task, 'running');
  const key = task.concurrencyKey;
  ctx.slots.occupy(memberId, task.id, key);
  // A start takes a rate token (which may close the key's gate until the next one).
  if (key !== undefined) ctx.keyLimits.started(task.kind, key, nowMs);
  const start: StartOrder = {
    memberId,
    taskId: task.id,
    attempt: task.attempt,
    kind: task.kind,
    payload: task.payload,
    concurrencyKey: key,
  };
  return ahead ? { ...start, ahead } : start;
}
