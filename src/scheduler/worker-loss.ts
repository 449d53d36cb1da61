import type { MemberId } from '../shared/ids.js';
import type { Changes, RunningAttempt, StopOrder } from './scheduler-types.js';
import { attemptKey, outOfAttempts, type TaskRecord } from './task.js';
import type { TaskIndex } from './task-index.js';
import { finishTask, requeueAtHead, unqueueTask, type QueueContext } from './task-moves.js';
import type { StopWaits } from './stop-waits.js';
import type { KeyLimits } from './key-limits.js';
import type { WorkerSlots } from './worker-slots.js';
import { countLossAgain, forgiveLoss, lostBeforeBegun } from './unbegun-loss.js';

/**
 * What losing a worker, and taking back what it runs, needs: the queue moves and the
 * workers' slots. No policy: losing a worker changes no backoff.
 */
export interface WorkerLossContext extends QueueContext {
  readonly slots: WorkerSlots;
  /**
   * Told when a lost worker's keyed tasks go on counting against their keys, and when one
   * counted so is re-attached by its worker.
   */
  readonly keyLimits: Pick<KeyLimits, 'claimed' | 'holdLost'>;
  /** How long a task lost on its last attempt waits for its worker (SchedulerLimits). */
  readonly lostAttemptGraceMs: number;
  /** Retries waiting for their task's stopped attempt to end. */
  readonly stopWaits: StopWaits;
}

/**
 * A lost worker may still be running its keyed attempts (cut off, not dead) until its
 * fence stops them: they go on counting against their keys until `untilMs`.
 */
export function holdLostKeys(ctx: WorkerLossContext, id: MemberId, untilMs: number): void {
  for (const { taskId, key, attempt } of ctx.slots.keyedHolds(id)) {
    const hold = { taskId, attempt: attempt ?? ctx.index.require(taskId).attempt };
    ctx.keyLimits.holdLost({ ...hold, memberId: id, key }, untilMs);
  }
}

/** Forgets a worker and requeues its running tasks; see {@link Scheduler.removeWorker}. */
export function removeWorker(
  ctx: WorkerLossContext,
  id: MemberId,
  why: string,
  nowMs?: number,
): Changes {
  const timed = new Set(ctx.slots.timedOn(id));
  const sendsNotices = ctx.slots.sendsBeganNotices(id);
  const fenceMs = ctx.slots.lossFenceMs(id);
  const held = ctx.slots.remove(id);
  if (held === undefined) return { changed: [] };
  const lost = held
    .map((taskId) => ctx.index.get(taskId)!)
    .filter((task) => task.status === 'running' && task.memberId === id);
  // Timed starts still before their run time (by the leader's timed holds, or by the clock)
  // wait for it again; the rest are requeued.
  const [early, late] = partition(lost, (task) => timed.has(task.id) || beforeRunTime(task, nowMs));
  const changed = requeueLost(ctx, late, why, { sendsNotices, fenceMs }, nowMs);
  return { changed: [...changed, ...rescheduleEarly(ctx, early)] };
}

/** Requeues running tasks no member re-attached; see {@link Scheduler.requeueUnclaimed}. */
export function requeueUnclaimed(ctx: WorkerLossContext, nowMs: number): Changes {
  const unclaimed = ctx.index.running().filter((task) => !ctx.slots.holds(task.memberId!, task.id));
  // A timed start whose run time has not come (a lead longer than the re-attach grace).
  const [early, late] = partition(unclaimed, (task) => beforeRunTime(task, nowMs));
  // Its worker had the re-attach grace to come back: one on its last attempt fails now.
  const changed = requeueLost(
    { ...ctx, lostAttemptGraceMs: 0 },
    late,
    'did not come back after a restart',
    { sendsNotices: false, fenceMs: 0 },
    nowMs,
  );
  return { changed: [...changed, ...rescheduleEarly(ctx, early)] };
}

/** Splits tasks by `test`: those it holds for, then the rest, each in the order given. */
function partition(
  tasks: readonly TaskRecord[],
  test: (task: TaskRecord) => boolean,
): [TaskRecord[], TaskRecord[]] {
  const yes: TaskRecord[] = [];
  const no: TaskRecord[] = [];
  for (const task of tasks) (test(task) ? yes : no).push(task);
  return [yes, no];
}

/** True if the task's attempt is a timed start whose run time is after `nowMs`. */
export function beforeRunTime(task: TaskRecord, nowMs: number | undefined): boolean {
  const { runAtMs, startedAtMs } = task;
  return nowMs !== undefined && runAtMs !== undefined && startedAtMs === runAtMs && runAtMs > nowMs;
}

/**
 * Timed starts whose worker was lost before their run time: back to waiting for it
 * (`scheduled`), with their attempt and member kept, so that member may still re-attach
 * them (see {@link reconcile}); when due they join the queue's tail as any delayed task.
 * Never requeued now: that could start them before their run time elsewhere.
 */
function rescheduleEarly(ctx: WorkerLossContext, tasks: TaskRecord[]): TaskRecord[] {
  for (const task of tasks) {
    ctx.index.setStatus(task, 'scheduled');
    // Its attempt never began: it keeps its number (a late report of it stays refused once
    // another attempt starts) but not a place in the attempt budget (see reconcile).
    task.attemptBase++;
  }
  return tasks;
}

/**
 * Running tasks whose worker was lost: back to the head of the queue with their attempt
 * kept, so the worker may still re-attach or report them until someone else takes them.
 * A task on its last attempt instead waits out `lostAttemptGraceMs` for its worker (in the
 * retry wait, never offered to another), then fails ({@link requeueDue}): a brief
 * disconnect never fails work still running, and no task waits for a worker forever. No
 * backoff: losing a worker says nothing about the task. An attempt a worker that sends
 * began notices never said it began is not counted at all (see unbegun-loss.ts). A begun
 * attempt of a worker whose attempts may outlive it (`fenceMs`, JoinRequest.loss_fence_ms:
 * commands it stops only after their kill grace) waits that long in the retry wait first,
 * so it never starts elsewhere beside its first run.
 */
function requeueLost(
  ctx: WorkerLossContext,
  lost: TaskRecord[],
  why: string,
  worker: { readonly sendsNotices: boolean; readonly fenceMs: number },
  nowMs?: number,
): TaskRecord[] {
  const unbegun = new Set<TaskRecord>();
  for (const task of lost) {
    const member = `member ${task.memberId ?? '(none)'} ${why}`;
    if (lostBeforeBegun(task, worker.sendsNotices)) {
      unbegun.add(task);
      forgiveLoss(task);
      task.error = `${member} before it began attempt ${task.attempt} (not counted)`;
    } else task.error = `${member} during attempt ${task.attempt}`;
    if (nowMs !== undefined) {
      task.lostAttempt = { attempt: task.attempt, atMs: nowMs, error: task.error };
    }
  }
  const [last, others] = partition(lost, (task) => nowMs !== undefined && outOfAttempts(task));
  // On its last attempt: it waits out the grace for its worker, then fails (requeueDue).
  for (const task of last) {
    ctx.index.setStatus(task, 'pending');
    ctx.index.delay(task, nowMs! + Math.max(ctx.lostAttemptGraceMs, worker.fenceMs));
  }
  const [fenced, free] = partition(
    others,
    (task) => nowMs !== undefined && worker.fenceMs > 0 && !unbegun.has(task),
  );
  for (const task of fenced) {
    ctx.index.setStatus(task, 'pending');
    ctx.index.delay(task, nowMs! + worker.fenceMs);
  }
  return [...requeueAtHead(ctx, free), ...fenced, ...last];
}

/**
 * Retry waits that are over go back to the head of the queue, except a task lost on its
 * last attempt whose worker did not come back within the grace: it fails.
 */
export function requeueDue(ctx: WorkerLossContext, nowMs: number): TaskRecord[] {
  const [doomed, again] = partition(
    ctx.index.takeDue(nowMs),
    (task) => !task.attemptEnded && outOfAttempts(task),
  );
  for (const task of doomed) failOutOfAttempts(ctx.index, task, nowMs);
  return [...ctx.stopWaits.requeue(ctx, again), ...doomed];
}

/** Ends a task whose lost attempt was its last (here, or when a round reaches it). */
export function failOutOfAttempts(index: TaskIndex, task: TaskRecord, nowMs: number): void {
  task.error = `${task.error ?? 'its member was lost'}; no attempts left (max ${task.maxAttempts})`;
  finishTask(index, task, nowMs, 'error');
}

/**
 * Checks what a worker says it runs against the task list, re-attaching or stopping each
 * attempt; see {@link Scheduler.reconcile}.
 */
export function reconcile(
  ctx: WorkerLossContext,
  memberId: MemberId,
  running: readonly RunningAttempt[],
  { resendStops, resumed }: { readonly resendStops: boolean; readonly resumed: boolean },
  nowMs?: number,
): Changes & { stops: StopOrder[] } {
  // A timed start re-attached before its run time stays one (a slot from its run time, and
  // back to waiting for it if this worker is lost before then).
  const hold = (task: TaskRecord): void => {
    if (beforeRunTime(task, nowMs)) {
      ctx.slots.holdTimed(memberId, task.id, task.runAtMs!, ctx.slots.isShortKind(task.kind));
    } else ctx.slots.occupy(memberId, task.id, task.concurrencyKey);
  };
  const known = ctx.slots.has(memberId);
  const changed: TaskRecord[] = [];
  const stops: StopOrder[] = [];
  for (const { taskId, attempt } of begunFirst(ctx, running)) {
    const task = ctx.index.get(taskId);
    const stop = (reason: string): void => {
      stops.push({ memberId, taskId, attempt, reason });
    };
    if (!known || !task || task.attempt !== attempt || task.memberId !== memberId) {
      stop(`attempt ${attempt} of task ${taskId} is not assigned to ${memberId}`);
      continue;
    }
    if (task.status === 'running') {
      // After a leader restart the worker is new to this scheduler: adopt what it runs.
      if (!ctx.slots.holds(memberId, task.id)) {
        hold(task);
        ctx.keyLimits.claimed(task.id, attempt, memberId);
      }
      continue;
    }
    if (task.status === 'cancelled') {
      if (resendStops) stop('cancelled');
      continue;
    }
    if (task.status === 'scheduled' && !task.attemptEnded) {
      // A timed start its worker still holds after it was lost (the task went back to
      // waiting for its run time, see rescheduleEarly): its own again, and its attempt
      // counts against the budget again.
      ctx.index.setStatus(task, 'running');
      task.attemptBase--;
      hold(task);
      changed.push(task);
      continue;
    }
    if (task.status === 'pending' && !task.attemptEnded && ctx.slots.hasFreeSlot(memberId)) {
      countLossAgain(task);
      unqueueTask(ctx, task);
      ctx.index.setStatus(task, 'running');
      ctx.slots.occupy(memberId, task.id, task.concurrencyKey);
      ctx.keyLimits.claimed(task.id, attempt, memberId);
      changed.push(task);
      continue;
    }
    stop(`task ${taskId} is ${task.status} and no longer runs on ${memberId}`);
  }
  if (resendStops && known) changed.push(...releaseUnlisted(ctx, memberId, running, resumed));
  return { changed, stops };
}

/**
 * The attempts a worker lists, those it said it began first (in their order, then the
 * rest): where its free slots run short of what it re-attaches, the ones it runs are kept
 * and the ones it only holds are stopped (it hands those back unstarted).
 */
function begunFirst(ctx: WorkerLossContext, running: readonly RunningAttempt[]): RunningAttempt[] {
  const begun = (r: RunningAttempt) => ctx.index.get(r.taskId)?.begunAttempt === r.attempt;
  return [...running.filter(begun), ...running.filter((r) => !begun(r))];
}

/**
 * Tasks restored as running on `memberId` (a leader restart or failover) that the first
 * heartbeat of its new stream does not list: that message lists every attempt the worker
 * runs, so it does not run these (it never got the start), and they need not wait out the
 * re-attach grace. Back to the head of the queue with their attempt kept, as any lost
 * worker's: a report still on its way lands. Tasks its slots hold are its own already.
 * From a `resumed` process (one that joined before and kept track of all it was handed)
 * the attempt never began: it does not count. From a new process it counts: its
 * predecessor under the id may have begun it.
 */
function releaseUnlisted(
  ctx: WorkerLossContext,
  memberId: MemberId,
  running: readonly RunningAttempt[],
  resumed: boolean,
): TaskRecord[] {
  const listed = new Set(running.map((r) => attemptKey(r.taskId, r.attempt)));
  const unlisted = ctx.index
    .running()
    .filter(
      (task) =>
        task.memberId === memberId &&
        !ctx.slots.holds(memberId, task.id) &&
        !listed.has(attemptKey(task.id, task.attempt)),
    );
  for (const task of unlisted) ctx.keyLimits.claimed(task.id, task.attempt, memberId);
  // It does not run them: nothing of theirs can outlive anything. A resumed process's word
  // that it never began them overrides the restore's guess that they had (restore-tasks.ts);
  // lostBeforeBegun then forgives the loss, within its bound.
  if (resumed) for (const task of unlisted) task.begunAttempt = undefined;
  const worker = { sendsNotices: resumed, fenceMs: 0 };
  return requeueLost(ctx, unlisted, 'did not list it when it came back after the restart', worker);
}
