import { mayGoAhead, startAttempt, type AssignContext } from './assign-round.js';
import { heldUnbegun, type RecallOrder } from './held-recall.js';
import type { Changes, StartOrder } from './scheduler-types.js';
import { PRIORITY_RANK as RANK, type TaskRecord, outOfAttempts } from './task.js';

/**
 * Priority past prefetch: a task waits in the queue while every slot is busy, yet a worker
 * holds tasks of a lower priority ahead of its slots, unbegun, which will start before it.
 * For each such worker, the queued task it would take next goes to it ahead (the worker
 * starts the highest priority it holds first, so it runs at its next free slot) and the
 * newest held task of the lowest priority is recalled (handed back unstarted, it takes its
 * FIFO place in the queue again): the worker holds as many as before, in priority order.
 *
 * Only workers that say which attempts they began (drover's own, which also start by
 * priority): the leader then knows what they hold unbegun. Only while no slot is free
 * (a free slot takes the task the usual way), never a task pinned to its worker, each held
 * attempt recalled once. A worker that began the recalled task meanwhile runs it on and
 * holds one more than before until it finishes. Pure: the caller saves `changed`, then
 * sends the starts and the recalls.
 */
export function swapForPriority(
  ctx: AssignContext,
  nowMs: number,
): Changes & { starts: StartOrder[]; recalls: RecallOrder[] } {
  const swaps = {
    changed: [] as TaskRecord[],
    starts: [] as StartOrder[],
    recalls: [] as RecallOrder[],
  };
  const { queue, slots, index } = ctx;
  if (queue.size === 0 || slots.lineSize('free') > 0) return swaps;
  for (const { taker, taskIds } of slots.heldAhead()) {
    const memberId = taker.id;
    if (!slots.isEligible(memberId) || !slots.sendsBeganNotices(memberId)) continue;
    // Held unbegun and not asked for yet, lowest priority first, newest hand-off first
    // within one (the sort is stable).
    const held = heldUnbegun(index, memberId, taskIds)
      .filter((task) => task.recalledAttempt !== task.attempt)
      .sort((a, b) => RANK[a.priority] - RANK[b.priority]);
    for (const lower of held) {
      const entry = queue.peekFor(taker);
      if (entry === undefined || RANK[entry.priority] <= RANK[lower.priority]) break;
      if (!mayGoAhead(ctx, entry)) break;
      const task = index.get(entry.id)!;
      // Out of attempts after a lost worker: the assign round fails it, not this.
      if (outOfAttempts(task)) break;
      queue.takeFor(taker);
      swaps.starts.push(startAttempt(ctx, nowMs, task, memberId));
      swaps.changed.push(task);
      lower.recalledAttempt = lower.attempt;
      swaps.recalls.push({
        memberId,
        taskId: lower.id,
        attempt: lower.attempt,
        reason: `a ${task.priority} priority task (${task.id}) takes its place`,
      });
    }
  }
  return swaps;
}
