import type { MemberId } from '../shared/ids.js';
import type { KeyLimits } from './key-limits.js';
import type { QueueEntry } from './queue.js';
import type { StopWaits } from './stop-waits.js';
import type { Changes, StartOrder } from './scheduler-types.js';
import { type TaskRecord, outOfAttempts } from './task.js';
import { beginAttempt, type QueueContext } from './task-moves.js';
import { failOutOfAttempts } from './worker-loss.js';
import type { WorkerLine, WorkerSlots } from './worker-slots.js';

/** What an assignment round reads and changes: the queue, the slots, the key limits. */
export interface AssignContext extends QueueContext {
  readonly slots: WorkerSlots;
  readonly keyLimits: Pick<KeyLimits, 'started' | 'isRated'>;
  readonly stopWaits: StopWaits;
}

/**
 * Fills every free slot of every eligible worker, round-robin so work spreads, then hands
 * what is left to busy workers with room to prefetch: only once no free slot anywhere can
 * take a queued task. Cost is O(assignments + eligible workers that find nothing to take),
 * never a scan of tasks.
 */
export function assignRound(ctx: AssignContext, nowMs: number): Changes & { starts: StartOrder[] } {
  // Retries whose stopped attempt has ended since (a report or a lost worker freed its
  // slot, which asks for a round) may start now.
  const round = { starts: [] as StartOrder[], changed: ctx.stopWaits.release(ctx) };
  assignFrom(ctx, nowMs, 'free', round);
  assignFrom(ctx, nowMs, 'ahead', round);
  return round;
}

/** Offers the queue to the workers of one line until none of them can take anything. */
function assignFrom(
  ctx: AssignContext,
  nowMs: number,
  line: WorkerLine,
  { starts, changed }: { starts: StartOrder[]; changed: TaskRecord[] },
): void {
  const { queue, slots, index } = ctx;
  // A worker that finds nothing goes to the back; once every worker of the line in a row
  // has found nothing, nothing more can be assigned from it now.
  let misses = 0;
  while (queue.size > 0 && slots.lineSize(line) > 0 && misses < slots.lineSize(line)) {
    const worker = slots.nextIn(line)!;
    const entry =
      line === 'free' || mayGoAhead(ctx, queue.peekFor(worker)) ? queue.takeFor(worker) : undefined;
    if (entry === undefined) {
      slots.putBack(worker.id);
      misses++;
      continue;
    }
    misses = 0;
    const task = index.get(entry.id)!;
    if (outOfAttempts(task)) {
      // Requeued after its worker was lost on its last attempt, and nobody re-attached
      // it: another start would exceed its budget, so it fails here instead.
      failOutOfAttempts(index, task, nowMs);
      changed.push(task);
      slots.putBack(worker.id);
      continue;
    }
    starts.push(startAttempt(ctx, nowMs, task, worker.id));
    changed.push(task);
  }
}

/**
 * Whether a queued task may be handed to a worker ahead of a free slot (prefetch, a
 * priority swap). Not one whose key is held to a rate: its rate token is taken as it is
 * handed out, but it starts only when a slot frees, so tasks held ahead on a busy worker
 * would start together, over the rate. They wait for a free slot instead. Only the task a
 * worker would be offered next is asked about: while it is such a task, that worker gets
 * nothing ahead this round (prefetch is lost for it, never a limit).
 */
export function mayGoAhead(ctx: AssignContext, entry: QueueEntry | undefined): boolean {
  if (entry === undefined) return false;
  return (
    entry.concurrencyKey === undefined || !ctx.keyLimits.isRated(entry.kind, entry.concurrencyKey)
  );
}

/**
 * Starts a task's next attempt on a worker (just taken from a line, or chosen by a
 * priority swap), ahead of a free slot if it has none.
 */
export function startAttempt(
  ctx: AssignContext,
  nowMs: number,
  task: TaskRecord,
  memberId: MemberId,
): StartOrder {
  const ahead = !ctx.slots.hasFreeSlot(memberId);
  const start = beginAttempt(ctx.index, task, memberId, nowMs);
  const key = task.concurrencyKey;
  ctx.slots.occupy(memberId, task.id, key);
  // A start takes a rate token (which may close the key's gate until the next one).
  if (key !== undefined) ctx.keyLimits.started(task.kind, key, nowMs);
  return ahead ? { ...start, ahead } : start;
}
