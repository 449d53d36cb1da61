import type { MemberId, TaskId } from '../shared/ids.js';
import { PRIORITY_RANK as RANK, type TaskRecord } from './task.js';
import type { TaskIndex } from './task-index.js';
import type { WorkerSlots } from './worker-slots.js';

/** Asks a worker to hand back an attempt it holds, if it has not begun it. */
export interface RecallOrder {
  readonly memberId: MemberId;
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly reason: string;
}

/** What finding held tasks to recall needs: the records and the workers' slots. */
export interface RecallContext {
  readonly index: Pick<TaskIndex, 'get'>;
  readonly slots: Pick<WorkerSlots, 'idleSlots' | 'heldAhead'>;
}

/**
 * Work stealing for prefetch: tasks held ahead on a busy worker for `heldForMs` or more,
 * while another worker that runs their kind has a slot free and nothing queued for it. A
 * task goes ahead only while its worker's recent tasks were short, and then waits about
 * the prefetch limit (50 ms) before it starts; one that has waited far longer shows the
 * worker's tasks turned long, and would wait on behind them while a slot idles elsewhere.
 * The worker hands such a task back unstarted (or, if it has begun it, runs it on), the
 * task returns to its FIFO place and the next round gives it to the free slot. At most as
 * many as there are free slots (less those asked for and not handed back yet), highest
 * priority first, then newest hand-off first (those would start last), each attempt asked
 * once. Pure: the caller sends the orders.
 */
export function recallHeld(ctx: RecallContext, nowMs: number, heldForMs: number): RecallOrder[] {
  const idle = ctx.slots.idleSlots();
  if (idle.length === 0) return [];
  const orders: RecallOrder[] = [];
  for (const { memberId, taskIds } of ctx.slots.heldAhead()) {
    // Highest priority first, newest hand-off first within one (the sort is stable).
    const held = heldUnbegun(ctx.index, memberId, taskIds).sort(
      (a, b) => RANK[b.priority] - RANK[a.priority],
    );
    const lowest = Math.min(...held.map((task) => RANK[task.priority]));
    for (const task of held) {
      const taker = idle.find(
        (i) => i.free > 0 && i.taker.id !== memberId && i.taker.kinds.has(task.kind),
      );
      if (taker === undefined) continue;
      if (task.recalledAttempt === task.attempt) {
        taker.free--; // asked for already, not handed back yet: a free slot waits for it
        continue;
      }
      // One that outranks another held there goes at once: it was swapped in for
      // priority (priority-swap.ts), and a free slot now beats its worker's next one.
      const heldMs = nowMs - (task.startedAtMs ?? nowMs);
      if (heldMs < heldForMs && RANK[task.priority] === lowest) continue;
      taker.free--;
      task.recalledAttempt = task.attempt;
      orders.push({
        memberId,
        taskId: task.id,
        attempt: task.attempt,
        reason: `held unstarted for ${Math.round(heldMs)} ms while ${taker.taker.id} has a free slot`,
      });
    }
  }
  return orders;
}

/**
 * The tasks a worker holds ahead that may be recalled, in the order given (`taskIds`,
 * newest hand-off first): still its own and running, not pinned to it, not said begun
 * (its worker would run such a one on, not hand it back).
 */
export function heldUnbegun(
  index: Pick<TaskIndex, 'get'>,
  memberId: MemberId,
  taskIds: readonly TaskId[],
): TaskRecord[] {
  const held: TaskRecord[] = [];
  for (const taskId of taskIds) {
    const task = index.get(taskId);
    if (task === undefined || task.status !== 'running' || task.memberId !== memberId) continue;
    if (task.targetMemberId !== undefined || task.begunAttempt === task.attempt) continue;
    held.push(task);
  }
  return held;
}
