import type { StartOrder } from './scheduler-types.js';
import type { TaskQueue } from './queue.js';
import { type TaskRecord, outOfAttempts } from './task.js';
import { beginAttempt } from './task-moves.js';
import type { TaskIndex } from './task-index.js';
import type { WorkerSlots } from './worker-slots.js';

/**
 * Scheduled tasks a pass may pass over, at most: those due within the lead that cannot be
 * handed ahead (keyed, paused, no worker for them) stay at the front of the run-time order
 * and are looked at again on every pass, so what waits so costs a pass O(this).
 */
const MAX_PASSED_OVER = 64;

/**
 * Tasks handed out per pass, at most: one pass is one commit group, and a burst of run
 * times (10,000 in a second) goes out in groups this size, one after the other, rather
 * than in one long turn of the event loop.
 */
const MAX_HANDED = 1_024;

/** Candidates read from the run-time order at a time. */
const CHUNK = 128;

/** Workers asked per task, at most (a task of a kind few run, among many members). */
const MAX_PROBES = 64;

/**
 * The timed-start passes of one scheduler: how far ahead they look, and how far they have
 * looked, so the due timer wakes when a delayed task first comes within the lead.
 */
export class TimedStarts {
  /** Run times up to this have been offered (see {@link nextOfferAtMs}). */
  private horizonMs = -Infinity;
  /** When the last pass ran. */
  private passedAtMs = -Infinity;

  /** `leadMs`: how far ahead of its run time a task may be handed out (0: never). */
  constructor(private readonly leadMs: number) {}

  /** Hands out what is due within the lead (see {@link timedStarts}). */
  pass(ctx: TimedStartContext, nowMs: number): { starts: StartOrder[]; changed: TaskRecord[] } {
    if (this.leadMs <= 0) return { starts: [], changed: [] };
    const { starts, changed, offeredToMs } = timedStarts(ctx, nowMs, this.leadMs);
    this.horizonMs = offeredToMs;
    this.passedAtMs = nowMs;
    return { starts, changed };
  }

  /**
   * When a delayed task not yet offered comes within the lead, if ever: at once after a
   * pass that stopped at its cap; under a stream of run times, a tenth of the lead after
   * the last pass at the soonest (each task still goes out at least nine tenths of the
   * lead ahead), as a timer firing for every run time would cost a turn and a commit each.
   */
  nextOfferAtMs(index: Pick<TaskIndex, 'nextScheduledAfter'>): number | undefined {
    if (this.leadMs <= 0) return undefined;
    const runAtMs = index.nextScheduledAfter(this.horizonMs);
    if (runAtMs === undefined) return undefined;
    // Offered short of the whole lead: the last pass stopped at its cap.
    const capped = this.horizonMs < this.passedAtMs + this.leadMs;
    const spacingMs = capped ? 0 : this.leadMs / 10;
    return Math.max(runAtMs - this.leadMs, this.passedAtMs + spacingMs);
  }
}

/** What a timed-start pass reads and changes. */
export interface TimedStartContext {
  readonly index: TaskIndex;
  readonly queue: Pick<TaskQueue, 'size' | 'isPaused'>;
  readonly slots: WorkerSlots;
}

/**
 * Hands delayed tasks whose run time is within `leadMs` to workers that start them at that
 * time (timed starts, issue #18): the assignment is committed and travels while the task
 * still waits, so at its run time only the worker's own timer stands between it and its
 * handler, not the leader's timer, commit and message under a burst of run times.
 *
 * Only when no task waits in the queue that a free slot could take (a due task must not
 * pass queued ones), only unkeyed tasks (a key's limits count starts, and a start handed
 * ahead would count early), never a paused kind, and only to workers that said they
 * honour a start time and whose slots will be free at it (see WorkerSlots). A task handed
 * so is `running` on its worker from the hand-off, with its start time (and so its timeout
 * and the attempt's measured duration) at its run time. Anything not handed ahead starts
 * the usual way when due.
 */
export function timedStarts(
  ctx: TimedStartContext,
  nowMs: number,
  leadMs: number,
): { starts: StartOrder[]; changed: TaskRecord[]; offeredToMs: number } {
  const starts: StartOrder[] = [];
  const changed: TaskRecord[] = [];
  const horizonMs = nowMs + leadMs;
  if (ctx.queue.size > 0 && ctx.slots.lineSize('free') === 0) {
    return { starts, changed, offeredToMs: horizonMs };
  }
  let passedOver = 0;
  for (let last: TaskRecord | undefined, more = true; more;) {
    const chunk = ctx.index.scheduledBy(horizonMs, CHUNK, last);
    more = chunk.length === CHUNK;
    for (const task of chunk) {
      last = task;
      const start = handAhead(ctx, task);
      if (start === undefined) {
        // Left for its run time; the rest within the lead wait for a round or their time.
        if (++passedOver >= MAX_PASSED_OVER) return { starts, changed, offeredToMs: horizonMs };
        continue;
      }
      starts.push(start);
      changed.push(task);
      // Offered up to just before this run time: the due timer brings the next pass at once.
      if (starts.length >= MAX_HANDED)
        return { starts, changed, offeredToMs: task.runAtMs! - 1e-3 };
    }
  }
  return { starts, changed, offeredToMs: horizonMs };
}

/** Hands one delayed task to a worker that starts it at its run time, if it may go ahead. */
function handAhead(ctx: TimedStartContext, task: TaskRecord): StartOrder | undefined {
  if (task.concurrencyKey !== undefined || ctx.queue.isPaused(task.kind)) return undefined;
  // Back from a lost worker with no attempt left: it fails when due, the usual way.
  if (outOfAttempts(task)) return undefined;
  // A kind lately short floats (no slot until its run time); any other reserves a free one.
  const floatable = ctx.slots.isShortKind(task.kind);
  const memberId = takerFor(ctx.slots, task, floatable);
  if (memberId === undefined) return undefined;
  const runAtMs = task.runAtMs!;
  const start = beginAttempt(ctx.index, task, memberId, runAtMs);
  ctx.slots.holdTimed(memberId, task.id, runAtMs, floatable);
  return { ...start, startAtMs: runAtMs };
}

/**
 * The first worker in the timed line that runs the task's kind (and is its target, if
 * any), with a free slot unless the task may float.
 */
function takerFor(
  slots: WorkerSlots,
  task: TaskRecord,
  floatable: boolean,
): TaskRecord['memberId'] {
  let probes = 0;
  for (const worker of slots.timedCandidates()) {
    if (++probes > MAX_PROBES) return undefined;
    if (task.targetMemberId !== undefined && worker.id !== task.targetMemberId) continue;
    if (!worker.kinds.has(task.kind)) continue;
    if (floatable || slots.hasFreeSlot(worker.id)) return worker.id;
  }
  return undefined;
}
