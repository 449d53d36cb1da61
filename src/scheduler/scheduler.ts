import type { MemberId, TaskId } from '../shared/ids.js';
import { completeAttempt, expireAttempts, type AttemptContext } from './attempt-outcomes.js';
import { assignRound, type AssignContext } from './assign-round.js';
import { failedTasks, forgetFinished, pruneFinished, rerunTask } from './finished-tasks.js';
import {
  checkNewTask,
  checkNewTasks,
  newTaskRecord,
  type NewTask,
  type SchedulerLimits,
} from './new-task.js';
import { KeyLimits } from './key-limits.js';
import { TaskQueue } from './queue.js';
import { QueueSeqs } from './queue-seqs.js';
import { DEFAULT_TASK_POLICY } from './retry-policy.js';
import type {
  AttemptFailure,
  Changes,
  CompletionReport,
  RunningAttempt,
  StartOrder,
  StopOrder,
} from './scheduler-types.js';
import type { Priority, TaskRecord, TaskStatus } from './task.js';
import { TaskIndex, type TaskPage, type TaskQuery } from './task-index.js';
import { queueAtTail } from './task-moves.js';
import {
  holdLostKeys,
  reconcile,
  removeWorker,
  requeueDue,
  requeueUnclaimed,
  type WorkerLossContext,
} from './worker-loss.js';
import { cancelTask } from './cancel-task.js';
import { recallHeld, type RecallOrder } from './held-recall.js';
import { swapForPriority } from './priority-swap.js';
import { TimedStarts } from './timed-starts.js';
import { waitingReason } from './waiting-reason.js';
import { WorkerSlots } from './worker-slots.js';
import { restoreTasks } from './restore-tasks.js';
import type { WorkerAbilities } from './worker-record.js';
import { noteBegan } from './unbegun-loss.js';
import { StopWaits } from './stop-waits.js';

// The units' public types, re-exported so callers import them from the facade.
export type { NewTask, SchedulerLimits } from './new-task.js';
export type * from './scheduler-types.js';
export type { RecallOrder } from './held-recall.js';
export { MAX_LIST_SCAN, type TaskPage, type TaskQuery } from './task-index.js';

/**
 * The task list and who runs what. Pure: no I/O, no clock; each call gets the time,
 * changes state, and returns the records to persist and the start/stop orders for the
 * adapters, in that order. A facade over units with narrow contexts: records in a
 * {@link TaskIndex} (table-checked `setStatus`), slots in {@link WorkerSlots}, per-key
 * limits in {@link KeyLimits}, new tasks in `new-task.ts`, rounds in `assign-round.ts`,
 * attempt ends in `attempt-outcomes.ts`, lost workers in `worker-loss.ts`, finished
 * tasks in `finished-tasks.ts`, queue moves in `task-moves.ts`.
 */
export class Scheduler {
  private readonly index = new TaskIndex();
  private readonly queue: TaskQueue;
  private readonly slots: WorkerSlots;
  private readonly seqs = new QueueSeqs();
  /** Limits, rate buckets and pauses per concurrency key: the queue's gate. */
  readonly keyLimits: KeyLimits;
  /** All the units' contexts in one: each function takes the part it declares. */
  private readonly ctx: AttemptContext & WorkerLossContext & AssignContext;
  /** Delayed tasks handed out ahead of their run time (see timed-starts.ts). */
  private readonly timed: TimedStarts;

  constructor(private readonly limits: SchedulerLimits) {
    const policy = limits.policy ?? DEFAULT_TASK_POLICY;
    // The three refer to each other: the queue asks the limits, the limits count the
    // slots, and a slot taken or freed asks the queue again about its key.
    const keyLimits = (this.keyLimits = new KeyLimits({
      heldByKey: (key) => this.slots.heldByKey(key),
      refreshKey: (key) => this.queue.refreshKey(key),
      refreshAllKeys: () => this.queue.refreshAllKeys(),
    }));
    this.queue = new TaskQueue(keyLimits.isOpen);
    this.slots = new WorkerSlots((key) => this.queue.refreshKey(key), limits.prefetch);
    const { index, queue, slots, seqs } = this;
    const [stopWaits, lostAttemptGraceMs] = [new StopWaits(), limits.lostAttemptGraceMs ?? 0];
    this.ctx = { index, queue, slots, seqs, policy, keyLimits, stopWaits, lostAttemptGraceMs };
    this.timed = new TimedStarts(limits.timedStartLeadMs ?? 0);
  }

  /** Tasks waiting for a slot (not counting those waiting out a retry backoff). */
  get pendingCount(): number {
    return this.queue.size;
  }

  /** Pending tasks out of the queue: in a retry wait, or for a stopped attempt to end. */
  get delayedCount(): number {
    return this.index.delayedCount + this.ctx.stopWaits.size;
  }

  /** Number of tasks in each status, and of queued ones per priority (for metrics). */
  counts(): { byStatus: Record<TaskStatus, number>; queuedByPriority: Record<Priority, number> } {
    return { byStatus: this.index.statusCounts(), queuedByPriority: this.queue.sizeByPriority() };
  }

  /** Number of tasks waiting for their run time (status scheduled). */
  get scheduledCount(): number {
    return this.index.scheduledCount;
  }

  /**
   * When {@link promoteDue} next has work (the leader's one due timer), if ever: a task or
   * key falling due, a timed start at its run time, a delayed task within the lead of it.
   */
  nextDueAtMs(): number | undefined {
    const times = [
      this.index.nextDueAtMs(),
      this.keyLimits.nextReopenAtMs(),
      this.slots.nextActivationAtMs(),
      this.timed.nextOfferAtMs(this.index),
    ].filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  /** Number of finished tasks held (completed, error, cancelled). */
  get finishedCount(): number {
    return this.index.finishedCount;
  }

  /**
   * Rebuilds the task list from stored records, before any worker is known: the same ids,
   * order, attempts and results. Pending tasks go back in the queue in their order; running
   * ones stay running on their member until it re-attaches them, or
   * {@link requeueUnclaimed} hands them to someone else.
   */
  restore(records: readonly TaskRecord[]): { ignored: TaskRecord[] } {
    return restoreTasks(this.ctx, records);
  }

  /**
   * Forgets finished tasks beyond the retention: the oldest-finished first, while there are
   * more than `keep` or they finished before `finishedBeforeMs`. Pending and running tasks
   * are never pruned, nor a cancelled one whose worker has not yet confirmed the stop.
   * Removes at most `limit` per call so one call stays short; returns the tasks removed.
   */
  prune(options: { keep: number; finishedBeforeMs: number; limit: number }): TaskRecord[] {
    return pruneFinished(this.ctx, options);
  }

  /**
   * Forgets one finished task now (an operator's delete), as a prune would. A task that is
   * still open, or cancelled but not yet confirmed stopped by its worker, is refused.
   */
  forget(id: TaskId): TaskRecord {
    return forgetFinished(this.ctx, id);
  }

  /**
   * After a restart: running tasks that no member has re-attached go back to the head of
   * the queue, first ones first, keeping their attempt number (the next start is a new
   * attempt, and a late report of the old one is refused). One on its last attempt fails.
   */
  requeueUnclaimed(nowMs: number): Changes {
    const changes = requeueUnclaimed(this.ctx, nowMs);
    this.keyLimits.forgetUnclaimed();
    return changes;
  }

  /** Checks a task as {@link schedule} would, changing nothing; throws what it would. */
  check(nowMs: number, spec: NewTask): void {
    checkNewTask(spec, this.limits, nowMs);
  }

  /** Adds a task to the tail of its priority. */
  schedule(nowMs: number, spec: NewTask): Changes & { task: TaskRecord } {
    const { tasks, changed } = this.scheduleMany(nowMs, [spec]);
    return { task: tasks[0]!, changed };
  }

  /**
   * Adds tasks to the tails of their priorities, in the order given: all of them, or (if
   * any one is invalid or a duplicate) none. Errors name the offending index. A task whose
   * idempotency key is held is answered by the task holding it, marked in `existing`
   * (the same positions as `tasks`), and changes nothing.
   */
  scheduleMany(
    nowMs: number,
    specs: readonly NewTask[],
  ): Changes & { tasks: TaskRecord[]; existing: boolean[] } {
    const { index } = this;
    const checked = checkNewTasks(
      specs,
      this.limits,
      { exists: (id) => index.has(id), heldBy: (key) => index.heldBy(key, nowMs)?.id },
      nowMs,
    );
    // Seqs are taken only once the whole batch is known good: a refused one burns none.
    // A task whose run time is ahead waits as scheduled; it takes its queue place when due.
    const changed: TaskRecord[] = [];
    const tasks = checked.map((entry) => {
      if (entry.kind === 'existing') return index.get(entry.id)!;
      const spec = entry.task;
      const waits = spec.runAtMs !== undefined && spec.runAtMs > nowMs;
      const queueSeq = waits ? 0 : this.seqs.nextTail();
      const task = newTaskRecord(spec, index.nextSeq(), queueSeq, nowMs);
      index.add(task);
      if (!waits) this.queue.push(task);
      changed.push(task);
      return task;
    });
    const existing = checked.map((entry) => entry.kind === 'existing');
    return { tasks, changed, existing };
  }

  /** Cancels a pending task at once; a running one is marked and its worker told to stop. */
  cancel(nowMs: number, id: TaskId): Changes & { task: TaskRecord; stop?: StopOrder } {
    return cancelTask(this.ctx, nowMs, id);
  }

  /**
   * Records the end of an attempt. A report for an attempt that is not current, or from a
   * member that does not hold it, is refused and changes nothing. Reports are idempotent
   * per (task, attempt).
   */
  complete(
    nowMs: number,
    report: CompletionReport,
  ): Changes & { task: TaskRecord; stop?: StopOrder } {
    return completeAttempt(this.ctx, nowMs, report);
  }

  /**
   * Stops running attempts past their task's timeout: each is told to stop on its worker
   * (where it keeps its slot until the worker reports it) and is retried or failed by the
   * task's policy. Returns who ran them, so repeated failures can be held against a member.
   */
  expire(nowMs: number): Changes & { stops: StopOrder[]; failures: AttemptFailure[] } {
    return expireAttempts(this.ctx, nowMs);
  }

  /**
   * Rebalances what busy workers hold ahead of their slots, unbegun: recalls tasks held
   * `heldForMs` or more while another worker has a free slot for them (held-recall.ts),
   * and, with no slot free, swaps a queued task ahead for a held one of lower priority
   * (priority-swap.ts). Save `changed` before sending the starts; recalls are advisory.
   */
  rebalanceHeld(
    nowMs: number,
    heldForMs: number,
  ): Changes & { starts: StartOrder[]; recalls: RecallOrder[] } {
    const recalls = recallHeld(this.ctx, nowMs, heldForMs);
    const swaps = swapForPriority(this.ctx, nowMs);
    return { ...swaps, recalls: [...recalls, ...swaps.recalls] };
  }

  /**
   * Moves what is due into the queue: tasks whose retry backoff is over go back to the
   * head of their priority, scheduled tasks whose run time has come join the tail, in the
   * order they fell due (FIFO by due time, ties in creation order).
   */
  promoteDue(nowMs: number): Changes & { reopenedKeys: number; timedOffers: boolean } {
    // Timed starts at their run time take their slots before anything new is assigned.
    this.slots.activateDue(nowMs);
    const changed = requeueDue(this.ctx, nowMs);
    changed.push(...queueAtTail(this.ctx, this.index.scheduledDue(nowMs)));
    // Keys whose rate bucket has a token again: their tasks may start (ask for a round).
    const reopenedKeys = this.keyLimits.reopenDue(nowMs);
    // Delayed tasks newly within the lead of their run time: a round may hand them ahead.
    const offerAtMs = this.timed.nextOfferAtMs(this.index);
    const timedOffers = offerAtMs !== undefined && offerAtMs <= nowMs;
    return { changed, reopenedKeys, timedOffers };
  }

  /**
   * Re-runs a failed task as a new series of attempts at the tail of its priority (see
   * finished-tasks.ts); a task not in error, or still stopping, is refused.
   */
  rerun(id: TaskId): Changes & { task: TaskRecord } {
    return rerunTask(this.ctx, id);
  }

  /** The failed tasks (of `kind`, if given), oldest first, at most `limit`. */
  failedTasks(kind: string | undefined, limit: number): TaskRecord[] {
    return failedTasks(this.ctx, kind, limit);
  }

  /** Pauses a kind: queued tasks keep their places, none starts; false if paused already. */
  pauseKind(kind: string): boolean {
    return this.queue.pauseKind(kind);
  }

  /** Resumes a kind; returns false if it was not paused. Ask for an assignment round after. */
  resumeKind(kind: string): boolean {
    return this.queue.resumeKind(kind);
  }

  /** Tasks of a concurrency key running now (or maybe running) and queued. */
  keyUsage(key: string): { running: number; queued: number } {
    return { running: this.keyLimits.running(key), queued: this.queue.queuedWithKey(key) };
  }

  /** Why a pending task does not start, if the leader holds it back (see waiting-reason.ts). */
  waitingReason(task: TaskRecord): string | undefined {
    return waitingReason({ ...this.ctx, keyLimits: this.keyLimits }, task);
  }

  /**
   * Fills every free slot of every eligible worker, round-robin so work spreads (see
   * assign-round.ts). Cost is O(assignments + eligible workers that find nothing to take).
   */
  assign(nowMs: number): Changes & { starts: StartOrder[] } {
    const round = assignRound(this.ctx, nowMs);
    // Then delayed tasks due within the lead, to workers that start them on time.
    const timed = this.timed.pass(this.ctx, nowMs);
    if (timed.starts.length === 0) return round;
    round.starts.push(...timed.starts);
    round.changed.push(...timed.changed);
    return round;
  }

  /** Adds a worker, or updates its slots, kinds and abilities on a rejoin; starts ineligible. */
  upsertWorker(
    id: MemberId,
    slots: number,
    kinds: ReadonlySet<string>,
    can?: WorkerAbilities,
  ): void {
    this.slots.upsert(id, slots, kinds, can);
  }

  /** The worker says it has begun these attempts (see unbegun-loss.ts). */
  noteBegan(nowMs: number, id: MemberId, began: readonly RunningAttempt[]): void {
    noteBegan(this.index, nowMs, id, began);
  }

  /** Allows or stops new work to a worker (alive vs suspect, draining, joining). */
  setEligible(id: MemberId, eligible: boolean): void {
    this.slots.setEligible(id, eligible);
  }

  /**
   * Forgets a worker that is dead or gone. Its running tasks go back to the head of their
   * priority, in their original order, keeping their attempt number so the same member
   * can still re-attach or report them until someone else takes them; a task that was on
   * its last attempt ends in error. `why` says what happened to the member, for the error.
   * With `keyHoldUntilMs` (a member lost, not one that left), its tasks with a concurrency
   * key keep counting against their keys until then.
   */
  removeWorker(id: MemberId, why: string, keyHoldUntilMs?: number, nowMs?: number): Changes {
    if (keyHoldUntilMs !== undefined) holdLostKeys(this.ctx, id, keyHoldUntilMs);
    return removeWorker(this.ctx, id, why, nowMs);
  }

  /**
   * Checks what a worker says it runs against the task list: an attempt it still holds that
   * was requeued after it was lost (not yet taken) is re-attached, so it does not run twice;
   * one no longer its own is to be stopped. `resendStops` repeats stops of cancelled attempts
   * (a new stream: one may have been lost); `resumed`: see JoinRequest.resumed.
   */
  reconcile(
    memberId: MemberId,
    running: readonly RunningAttempt[],
    resendStops: boolean,
    nowMs?: number,
    resumed = false,
  ): Changes & { stops: StopOrder[] } {
    return reconcile(this.ctx, memberId, running, { resendStops, resumed }, nowMs);
  }

  /** A task by id. */
  get(id: TaskId): TaskRecord {
    return this.index.require(id);
  }

  /** Ids of the tasks holding a worker's slots. */
  runningOn(id: MemberId): TaskId[] {
    return this.slots.runningOn(id);
  }

  /**
   * Slots of a worker held by attempts the leader gave up on (timed out) and told it to
   * stop, which it has not reported yet.
   */
  stoppingOn(id: MemberId): number {
    return this.slots.stoppingOn(id);
  }

  /**
   * One page of tasks in creation order: a status filter walks that status's index (O(log
   * n + page)); a member filter applies while walking, within {@link MAX_LIST_SCAN} a call.
   */
  list(query: TaskQuery): TaskPage {
    return this.index.list(query);
  }

  /** Every task in creation order, or only the one with `onlyId` (a watch's snapshot). */
  all(onlyId?: TaskId): TaskRecord[] {
    if (onlyId === undefined) return this.index.all();
    return this.index.has(onlyId) ? [this.index.require(onlyId)] : [];
  }
}
