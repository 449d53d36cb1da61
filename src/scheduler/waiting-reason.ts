import { describeHold, type KeyLimits } from './key-limits.js';
import type { TaskQueue } from './queue.js';
import { outOfAttempts, type TaskRecord } from './task.js';
import type { StopWaits } from './stop-waits.js';
import type { WorkerSlots } from './worker-slots.js';

/** What the reason is read from: pauses, workers, key limits. */
export interface WaitingContext {
  readonly queue: Pick<TaskQueue, 'isPaused'>;
  readonly slots: Pick<
    WorkerSlots,
    'has' | 'isEligible' | 'runsKind' | 'sendsBeganNotices' | 'servesKind'
  >;
  readonly keyLimits: Pick<KeyLimits, 'holdOf'>;
  readonly stopWaits: Pick<StopWaits, 'has'>;
}

/**
 * Why a task that could start does not, for people reading the task list. A pending task
 * says so when it waits out a retry backoff, or for the worker it was lost with on its last
 * attempt (it fails unless that worker comes back), or is of a paused kind, for a member
 * that is not there, of a kind no worker taking new work runs (none connected, or all
 * draining or quarantined), or over its key's limits; a running one, when its worker holds
 * it but has not said it began (ahead of a free slot, or a timed start before its run
 * time). Undefined when nothing the leader knows of holds it (a
 * pending task waits for a free slot; a running one runs).
 */
export function waitingReason(ctx: WaitingContext, task: TaskRecord): string | undefined {
  if (task.status === 'running') {
    const { memberId } = task;
    const held =
      memberId !== undefined &&
      task.begunAttempt !== task.attempt &&
      ctx.slots.sendsBeganNotices(memberId);
    return held ? `held: member ${memberId} has not begun it yet` : undefined;
  }
  if (task.status !== 'pending') return undefined;
  if (ctx.stopWaits.has(task.id)) {
    return `stopping: attempt ${task.attempt} was told to stop on member ${task.memberId ?? '?'} and has not ended; the next starts once it has`;
  }
  if (task.retryAtMs !== undefined) {
    // Formats a time the task holds; reads no clock (what the rule is there to stop).
    // eslint-disable-next-line no-restricted-globals
    const untilIso = new Date(task.retryAtMs).toISOString();
    // Lost on its last attempt: it waits for its worker to come back (worker-loss.ts).
    if (!task.attemptEnded && task.memberId !== undefined && outOfAttempts(task)) {
      return `lost: fails at ${untilIso} unless member ${task.memberId} re-attaches attempt ${task.attempt} (its last)`;
    }
    // Its worker's commands may outlive it until then (JoinRequest.loss_fence_ms).
    if (!task.attemptEnded && task.memberId !== undefined) {
      return `lost: member ${task.memberId} was lost; attempt ${task.attempt} may run on until ${untilIso}, while its commands are stopped, then the next starts`;
    }
    return `retry backoff: attempt ${task.attempt} failed, next one not before ${untilIso}`;
  }
  if (ctx.queue.isPaused(task.kind)) return `paused: kind ${task.kind}`;
  const target = task.targetMemberId;
  if (target !== undefined && !ctx.slots.isEligible(target)) {
    return ctx.slots.has(target)
      ? `target: member ${target} takes no new work (draining, or not heard from)`
      : `target: member ${target} is not connected`;
  }
  // Its target may rejoin running the kind (a rejoin may change kinds): it waits, and says why.
  if (target !== undefined && !ctx.slots.runsKind(target, task.kind)) {
    return `target: member ${target} does not run kind ${task.kind}`;
  }
  if (target === undefined && !ctx.slots.servesKind(task.kind)) {
    return `no worker: none that takes new work (alive, not draining or quarantined) runs kind ${task.kind}`;
  }
  if (task.concurrencyKey === undefined) return undefined;
  const hold = ctx.keyLimits.holdOf(task.kind, task.concurrencyKey);
  return hold === undefined ? undefined : describeHold(hold);
}
