import { StaleError } from '../shared/errors.js';
import type { MemberId, TaskId } from '../shared/ids.js';
import { checkNewTasks, newTaskRecord, type NewTask, type SchedulerLimits } from './new-task.js';
import { TaskQueue } from './queue.js';
import { DEFAULT_TASK_POLICY, retryDelayMs, type TaskPolicyDefaults } from './retry-policy.js';
import { isFinal, type TaskRecord, type TaskStatus } from './task.js';
import { TaskIndex, type TaskPage, type TaskQuery } from './task-index.js';
import { WorkerSlots } from './worker-slots.js';

// The facade's public types that now live with the unit they belong to, re-exported so
// callers keep importing them from here.
export type { NewTask, SchedulerLimits } from './new-task.js';
export { MAX_LIST_SCAN, type TaskPage, type TaskQuery } from './task-index.js';

/** Tells the adapter to start an attempt on a member (sent down its heartbeat stream). */
export interface StartOrder {
  readonly memberId: MemberId;
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
}

/** Tells the adapter to stop an attempt on a member. */
export interface StopOrder {
  readonly memberId: MemberId;
  readonly taskId: TaskId;
  readonly attempt: number;
  readonly reason: string;
}

/** A worker's (or an operator's) report that an attempt ended. */
export interface CompletionReport {
  readonly taskId: TaskId;
  /** 0 means "the current attempt", for a manual completion. */
  readonly attempt: number;
  /** Undefined for a manual completion. */
  readonly memberId?: MemberId | undefined;
  readonly result?: string | undefined;
  readonly error?: string | undefined;
  /** With `error`: no retry, the task fails now. */
  readonly permanent?: boolean | undefined;
}

/** One attempt a worker says it runs. */
export interface RunningAttempt {
  readonly taskId: TaskId;
  readonly attempt: number;
}

/** Tasks whose records changed and must be persisted before anything is acted on. */
export interface Changes {
  readonly changed: TaskRecord[];
}

/** Attempts that ended on the leader's side (failed over, timed out) for one member. */
export interface AttemptFailure {
  readonly memberId: MemberId;
  readonly task: TaskRecord;
}

/**
 * The task list and who runs what. Pure: it does no I/O and reads no clock; each call
 * gets the time, changes state, and returns the records to persist and the start/stop
 * orders for the adapters to carry out, in that order. A facade: the records and their
 * indexes are a {@link TaskIndex} (every status change goes through its table-checked
 * `setStatus`), the workers' slots a {@link WorkerSlots}, the checks on new tasks are in
 * `new-task.ts`; the pending queue and the rules that tie them together are here.
 */
export class Scheduler {
  private readonly index = new TaskIndex();
  private readonly queue = new TaskQueue();
  private readonly slots = new WorkerSlots();
  private readonly policy: TaskPolicyDefaults;
  private lastTailQueueSeq = 0;
  private lastHeadQueueSeq = 0;

  constructor(private readonly limits: SchedulerLimits) {
    this.policy = limits.policy ?? DEFAULT_TASK_POLICY;
  }

  /** Number of tasks waiting for a slot (not counting those waiting out a retry backoff). */
  get pendingCount(): number {
    return this.queue.size;
  }

  /** Number of pending tasks waiting out a retry backoff. */
  get delayedCount(): number {
    return this.index.delayedCount;
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
    if (this.index.size > 0) throw new Error('restore() needs an empty scheduler');
    const { kept, ignored } = this.index.restore(records);
    const pending: TaskRecord[] = [];
    for (const task of kept) {
      // Those waiting out a retry backoff are queued when promoteDue says.
      if (task.status === 'pending' && task.retryAtMs === undefined) pending.push(task);
      this.lastTailQueueSeq = Math.max(this.lastTailQueueSeq, task.queueSeq);
      this.lastHeadQueueSeq = Math.min(this.lastHeadQueueSeq, task.queueSeq);
    }
    // In queue order, so every push lands at a tail (O(1)).
    pending.sort((a, b) => a.queueSeq - b.queueSeq);
    for (const task of pending) this.queue.push(task);
    return { ignored };
  }

  /**
   * Forgets finished tasks beyond the retention: the oldest-finished first, while there are
   * more than `keep` or they finished before `finishedBeforeMs`. Pending and running tasks
   * are never pruned, nor a cancelled one whose worker has not yet confirmed the stop.
   * Removes at most `limit` per call so one call stays short; returns the tasks removed.
   */
  prune(options: { keep: number; finishedBeforeMs: number; limit: number }): TaskRecord[] {
    const removed: TaskRecord[] = [];
    let excess = this.index.finishedCount - options.keep;
    for (const task of this.index.finishedOldestFirst()) {
      if (removed.length >= options.limit) break;
      const tooOld = (task.finishedAtMs ?? 0) < options.finishedBeforeMs;
      if (excess <= 0 && !tooOld) break; // finish order: everything after is newer
      if (this.slots.holdsSlot(task.memberId, task.id)) continue;
      this.index.drop(task);
      removed.push(task);
      excess--;
    }
    return removed;
  }

  /**
   * Forgets one finished task now (an operator's delete), as a prune would. A task that is
   * still open, or cancelled but not yet confirmed stopped by its worker, is refused.
   */
  forget(id: TaskId): TaskRecord {
    const task = this.index.require(id);
    if (!isFinal(task.status)) {
      throw new StaleError(`task ${id} is ${task.status}; cancel it before deleting it`);
    }
    if (this.slots.holdsSlot(task.memberId, task.id)) {
      throw new StaleError(`task ${id} is still stopping on member ${task.memberId}; try again`);
    }
    this.index.drop(task);
    return task;
  }

  /**
   * After a restart: running tasks that no member has re-attached go back to the head of
   * the queue, first ones first, keeping their attempt number (the next start is a new
   * attempt, and a late report of the old one is refused). One on its last attempt fails.
   */
  requeueUnclaimed(): Changes {
    const unclaimed = this.index
      .running()
      .filter((task) => !this.slots.holds(task.memberId!, task.id));
    return { changed: this.requeueLost(unclaimed, 'did not come back after a restart') };
  }

  /** Adds a task to the tail of its priority. */
  schedule(nowMs: number, spec: NewTask): Changes & { task: TaskRecord } {
    const { tasks, changed } = this.scheduleMany(nowMs, [spec]);
    return { task: tasks[0]!, changed };
  }

  /**
   * Adds tasks to the tails of their priorities, in the order given: all of them, or (if
   * any one is invalid or a duplicate) none. Errors name the offending index.
   */
  scheduleMany(nowMs: number, specs: readonly NewTask[]): Changes & { tasks: TaskRecord[] } {
    const checked = checkNewTasks(specs, this.limits, (id) => this.index.has(id));
    // Seqs are taken only once the whole batch is known good: a refused one burns none.
    const tasks = checked.map((spec) => {
      const task = newTaskRecord(spec, this.index.nextSeq(), ++this.lastTailQueueSeq, nowMs);
      this.index.add(task);
      this.queue.push(task);
      return task;
    });
    return { tasks, changed: tasks };
  }

  /** Cancels a pending task at once; a running one is marked and its worker told to stop. */
  cancel(nowMs: number, id: TaskId): Changes & { task: TaskRecord; stop?: StopOrder } {
    const task = this.index.require(id);
    switch (task.status) {
      case 'cancelled':
        return { task, changed: [] };
      case 'completed':
      case 'error':
        throw new StaleError(`task ${id} has already finished (${task.status}); nothing to cancel`);
      case 'pending':
        this.unqueue(task);
        this.finish(task, nowMs, 'cancelled');
        return { task, changed: [task] };
      case 'running': {
        // The slot stays taken until the worker reports the attempt stopped.
        this.finish(task, nowMs, 'cancelled');
        const stop: StopOrder = {
          memberId: task.memberId!,
          taskId: id,
          attempt: task.attempt,
          reason: 'cancelled',
        };
        return { task, changed: [task], stop };
      }
    }
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
    const task = this.reportedTask(report);
    switch (task.status) {
      case 'completed':
      case 'error':
        // A duplicate, or the worker's own report after a manual completion: the
        // recorded result stands, and the worker's slot is free again.
        if (report.memberId !== undefined) this.slots.release(task.memberId, task.id);
        return { task, changed: [] };
      case 'cancelled':
        // The worker confirms the stop: its slot is free again; the task stays cancelled.
        this.slots.release(task.memberId, task.id);
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
        this.unqueue(task);
        break;
      case 'running':
        if (report.memberId === undefined) return this.completeByHand(nowMs, task, report);
        this.slots.release(task.memberId, task.id);
        break;
    }
    task.result = report.result;
    if (report.error !== undefined) {
      this.failAttempt(nowMs, task, report.error, report.permanent === true);
      return { task, changed: [task] };
    }
    task.error = undefined;
    this.finish(task, nowMs, 'completed');
    return { task, changed: [task] };
  }

  /**
   * The task a report is about, once the report is known to be of its current attempt and
   * from the member that holds it; otherwise throws {@link StaleError}, having changed
   * nothing but (for a timed-out attempt) the slot the report frees.
   */
  private reportedTask(report: CompletionReport): TaskRecord {
    if (
      report.memberId !== undefined &&
      this.slots.releaseStopping(report.memberId, report.taskId, report.attempt)
    ) {
      // The leader gave up on this attempt (it timed out) and told the worker to stop it:
      // the report frees the slot, but the outcome was decided already. Checked before
      // the task is looked up: it may have been pruned since.
      throw new StaleError(
        `attempt ${report.attempt} of task ${report.taskId} timed out and was stopped; its report is not recorded`,
      );
    }
    const task = this.index.require(report.taskId);
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
   * Completed by hand while its worker still runs it: like a cancel, the worker is told to
   * stop and its slot stays taken until it reports.
   */
  private completeByHand(
    nowMs: number,
    task: TaskRecord,
    report: CompletionReport,
  ): Changes & { task: TaskRecord; stop: StopOrder } {
    task.result = report.result;
    task.error = report.error;
    this.finish(task, nowMs, report.error === undefined ? 'completed' : 'error');
    const stop: StopOrder = {
      memberId: task.memberId!,
      taskId: task.id,
      attempt: task.attempt,
      reason: 'completed by an operator',
    };
    return { task, changed: [task], stop };
  }

  /**
   * Stops running attempts past their task's timeout: each is told to stop on its worker
   * (where it keeps its slot until the worker reports it) and is retried or failed by the
   * task's policy. Returns who ran them, so repeated failures can be held against a member.
   */
  expire(nowMs: number): Changes & { stops: StopOrder[]; failures: AttemptFailure[] } {
    const changed: TaskRecord[] = [];
    const stops: StopOrder[] = [];
    const failures: AttemptFailure[] = [];
    for (const task of this.index.pastDeadline(nowMs)) {
      const memberId = task.memberId!;
      const reason = `attempt ${task.attempt} timed out after ${task.timeoutMs} ms`;
      this.slots.markStopping(memberId, task.id, task.attempt);
      stops.push({ memberId, taskId: task.id, attempt: task.attempt, reason });
      failures.push({ memberId, task });
      this.failAttempt(nowMs, task, reason);
      changed.push(task);
    }
    return { changed, stops, failures };
  }

  /** Puts tasks whose retry backoff is over back at the head of their priority. */
  promoteDue(nowMs: number): Changes {
    return { changed: this.requeueAtHead(this.index.takeDue(nowMs)) };
  }

  /**
   * An attempt failed (the handler's error, or a timeout): the task is retried after its
   * backoff while it has attempts left, and otherwise ends in error with this error kept.
   */
  private failAttempt(nowMs: number, task: TaskRecord, error: string, permanent = false): void {
    task.error = error;
    if (permanent || task.attempt >= task.maxAttempts) {
      this.finish(task, nowMs, 'error');
      return;
    }
    this.index.setStatus(task, 'pending');
    task.attemptEnded = true;
    const delayMs = retryDelayMs(task.retryBackoffMs, task.attempt, this.policy.retryBackoffMaxMs);
    if (delayMs === 0) {
      this.requeueAtHead([task]);
      return;
    }
    this.index.delay(task, nowMs + delayMs);
  }

  /**
   * Running tasks whose worker was lost: back to the head of the queue with their attempt
   * kept, so the worker may still re-attach or report them until someone else takes them.
   * The attempt budget is checked when one would be started (see {@link assign}): a task on
   * its last attempt fails only if the worker does not come back first, so a brief
   * disconnect never fails work that is still running. No backoff: losing a worker says
   * nothing about the task.
   */
  private requeueLost(lost: TaskRecord[], why: string): TaskRecord[] {
    for (const task of lost) {
      task.error = `member ${task.memberId ?? '(none)'} ${why} during attempt ${task.attempt}`;
    }
    return this.requeueAtHead(lost);
  }

  /**
   * Fills every free slot of every eligible worker, round-robin so work spreads. Cost is
   * O(assignments + eligible workers that find nothing to take), never a scan of tasks.
   */
  assign(nowMs: number): Changes & { starts: StartOrder[] } {
    const starts: StartOrder[] = [];
    const changed: TaskRecord[] = [];
    // A worker that finds nothing goes to the back; once every ready worker in a row has
    // found nothing, nothing more can be assigned now.
    let misses = 0;
    while (this.queue.size > 0 && this.slots.readyCount > 0 && misses < this.slots.readyCount) {
      const worker = this.slots.nextReady()!;
      const entry = this.queue.takeFor(worker);
      if (entry === undefined) {
        this.slots.putBack(worker.id);
        misses++;
        continue;
      }
      misses = 0;
      const task = this.index.get(entry.id)!;
      if (task.attempt >= task.maxAttempts) {
        // Requeued after its worker was lost on its last attempt, and nobody re-attached
        // it: another start would exceed its budget, so it fails here instead.
        task.error = `${task.error ?? 'its member was lost'}; no attempts left (max ${task.maxAttempts})`;
        this.finish(task, nowMs, 'error');
        changed.push(task);
        this.slots.putBack(worker.id);
        continue;
      }
      starts.push(this.start(nowMs, task, worker.id));
      changed.push(task);
    }
    return { changed, starts };
  }

  /** Starts a task's next attempt on a worker just taken from the line, which has a free slot. */
  private start(nowMs: number, task: TaskRecord, memberId: MemberId): StartOrder {
    // Start time first: entering `running` files the task under its deadline.
    task.startedAtMs = nowMs;
    task.attempt++;
    task.attemptEnded = false;
    task.memberId = memberId;
    this.index.setStatus(task, 'running');
    this.slots.occupy(memberId, task.id);
    return {
      memberId,
      taskId: task.id,
      attempt: task.attempt,
      kind: task.kind,
      payload: task.payload,
    };
  }

  /** Adds a worker, or updates its slots and kinds on a rejoin; it starts ineligible. */
  upsertWorker(id: MemberId, slots: number, kinds: ReadonlySet<string>): void {
    this.slots.upsert(id, slots, kinds);
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
   */
  removeWorker(id: MemberId, why: string): Changes {
    const held = this.slots.remove(id);
    if (held === undefined) return { changed: [] };
    const lost = held
      .map((taskId) => this.index.get(taskId)!)
      .filter((task) => task.status === 'running' && task.memberId === id);
    return { changed: this.requeueLost(lost, why) };
  }

  /**
   * Puts running tasks back at the head of their priority, in their original order, with
   * their attempt numbers kept. Returns them, sorted as requeued.
   */
  private requeueAtHead(tasks: TaskRecord[]): TaskRecord[] {
    // Requeue last-first: each goes in front of the one before, so the first ends first.
    tasks.sort((a, b) => b.queueSeq - a.queueSeq);
    for (const task of tasks) {
      this.index.setStatus(task, 'pending');
      task.queueSeq = --this.lastHeadQueueSeq;
      this.queue.push(task);
    }
    return tasks;
  }

  /**
   * Checks what a worker says it runs against the task list. An attempt the worker still
   * holds but that was requeued after it was lost (and not yet taken) is re-attached, so it
   * does not run twice; any attempt that is not the worker's any more is to be stopped.
   * `resendStops` repeats stops for cancelled attempts (on a new stream, where an earlier
   * stop may have been lost).
   */
  reconcile(
    memberId: MemberId,
    running: readonly RunningAttempt[],
    resendStops: boolean,
  ): Changes & { stops: StopOrder[] } {
    const known = this.slots.has(memberId);
    const changed: TaskRecord[] = [];
    const stops: StopOrder[] = [];
    for (const { taskId, attempt } of running) {
      const task = this.index.get(taskId);
      const stop = (reason: string): void => {
        stops.push({ memberId, taskId, attempt, reason });
      };
      if (!known || !task || task.attempt !== attempt || task.memberId !== memberId) {
        stop(`attempt ${attempt} of task ${taskId} is not assigned to ${memberId}`);
        continue;
      }
      if (task.status === 'running') {
        // After a leader restart the worker is new to this scheduler: adopt what it runs.
        if (!this.slots.holds(memberId, task.id)) this.slots.occupy(memberId, task.id);
        continue;
      }
      if (task.status === 'cancelled') {
        if (resendStops) stop('cancelled');
        continue;
      }
      if (task.status === 'pending' && !task.attemptEnded && this.slots.hasFreeSlot(memberId)) {
        this.unqueue(task);
        this.index.setStatus(task, 'running');
        this.slots.occupy(memberId, task.id);
        changed.push(task);
        continue;
      }
      stop(`task ${taskId} is ${task.status} and no longer runs on ${memberId}`);
    }
    return { changed, stops };
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
   * One page of tasks in creation order. A status filter walks that status's index from
   * the page start (O(log n + page)); a member filter is applied while walking, within
   * {@link MAX_LIST_SCAN} records per call.
   */
  list(query: TaskQuery): TaskPage {
    return this.index.list(query);
  }

  /** Ends a task in a final status, as of `nowMs`. */
  private finish(task: TaskRecord, nowMs: number, status: TaskStatus): void {
    this.index.setStatus(task, status);
    task.finishedAtMs = nowMs;
  }

  /** Takes a pending task out of the queue, or out of the retry wait. */
  private unqueue(task: TaskRecord): void {
    if (!this.index.undelay(task)) this.queue.remove(task.id);
  }
}
