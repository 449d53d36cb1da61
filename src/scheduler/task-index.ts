import { NotFoundError } from '../shared/errors.js';
import type { TaskId } from '../shared/ids.js';
import { BTree } from './sorted-btree.js';
import { checkTaskTransition, isFinal, type TaskRecord, type TaskStatus } from './task.js';
import { listPage, type TaskPage, type TaskQuery } from './task-list.js';

export { MAX_LIST_SCAN, type TaskPage, type TaskQuery } from './task-list.js';

/**
 * Every task the scheduler holds, by id, and the indexes over them that keep each question
 * cheap: creation order (overall and per status) for listing, finish order for pruning,
 * retry times and deadlines for the periodic sweep. Pure, like the scheduler it serves.
 * Status changes go only through {@link TaskIndex.setStatus}, which checks them against
 * `TASK_TRANSITIONS` and keeps every index true; the pending queue is not kept here.
 */
export class TaskIndex {
  private readonly tasks = new Map<TaskId, TaskRecord>();
  /** Every task by creation order, and per status, so a page starts where it should. */
  private readonly bySeq = new BTree<number, TaskRecord>();
  private readonly byStatus: Record<TaskStatus, BTree<number, TaskRecord>> = {
    scheduled: new BTree(),
    pending: new BTree(),
    running: new BTree(),
    completed: new BTree(),
    error: new BTree(),
    cancelled: new BTree(),
  };
  /** Finished tasks (completed, error, cancelled) in the order they finished, for pruning. */
  private readonly finished = new Map<TaskId, TaskRecord>();
  /** Pending tasks waiting out a retry backoff, by (retryAtMs, seq). */
  private readonly delayed = new BTree<TimeKey, TaskRecord>(undefined, compareTimeKeys);
  /**
   * Tasks by idempotency key: the newest task with each key. Whether its key still holds
   * is checked when asked (see heldBy); a finished or dropped task lets go of it here.
   */
  private readonly byIdempotencyKey = new Map<string, TaskRecord>();
  /** Scheduled (delayed) tasks by (runAtMs, seq): the order they join the queue in. */
  private readonly scheduled = new BTree<TimeKey, TaskRecord>(undefined, compareTimeKeys);
  /** Running tasks that have a timeout, by (deadline, seq). */
  private readonly deadlines = new BTree<TimeKey, TaskRecord>(undefined, compareTimeKeys);
  private lastSeq = 0;

  /** Number of tasks held, whatever their status. */
  get size(): number {
    return this.tasks.size;
  }

  /** Number of tasks held in each status. */
  statusCounts(): Record<TaskStatus, number> {
    const counts = {} as Record<TaskStatus, number>;
    for (const status of Object.keys(this.byStatus) as TaskStatus[]) {
      counts[status] = this.byStatus[status].size;
    }
    return counts;
  }

  /** Number of finished tasks held (completed, error, cancelled). */
  get finishedCount(): number {
    return this.finished.size;
  }

  /** Number of pending tasks waiting out a retry backoff. */
  get delayedCount(): number {
    return this.delayed.size;
  }

  /** Number of tasks waiting for their run time. */
  get scheduledCount(): number {
    return this.scheduled.size;
  }

  /**
   * The earliest time a retry wait or a scheduled task falls due, or undefined if none
   * waits: the leader's one due timer is set for it.
   */
  nextDueAtMs(): number | undefined {
    const retry = this.delayed.minKey()?.[0];
    const run = this.scheduled.minKey()?.[0];
    if (retry === undefined) return run;
    return run === undefined ? retry : Math.min(retry, run);
  }

  /** A task by id, if held. */
  get(id: TaskId): TaskRecord | undefined {
    return this.tasks.get(id);
  }

  /** True if a task with this id is held. */
  has(id: TaskId): boolean {
    return this.tasks.has(id);
  }

  /** A task by id; throws {@link NotFoundError} if none is held. */
  require(id: TaskId): TaskRecord {
    const task = this.tasks.get(id);
    if (!task) throw new NotFoundError(`task ${id} not found`);
    return task;
  }

  /** Takes the creation seq for a new task: one more than any seen, never reused. */
  nextSeq(): number {
    return ++this.lastSeq;
  }

  /**
   * Files a task just created (pending, or scheduled for its run time; never started)
   * under its id, seq and status.
   */
  add(task: TaskRecord): void {
    if (task.status !== 'pending' && task.status !== 'scheduled') {
      throw new Error(`a new task is pending or scheduled, not ${task.status}`);
    }
    if (this.tasks.has(task.id)) throw new Error(`task ${task.id} is already indexed`);
    this.tasks.set(task.id, task);
    this.bySeq.set(task.seq, task);
    this.byStatus[task.status].set(task.seq, task);
    if (task.status === 'scheduled') this.trackRunAt(task);
    if (task.idempotencyKey !== undefined) this.byIdempotencyKey.set(task.idempotencyKey, task);
    this.lastSeq = Math.max(this.lastSeq, task.seq);
  }

  /**
   * The task an idempotency key is held by at `nowMs`, if any: the key holds while its task
   * is open, and after it finished until `idempotencyExpiresAtMs` if that is set. (A TTL
   * that ended while the task still waited would let a retry schedule it twice.)
   */
  heldBy(key: string, nowMs: number): TaskRecord | undefined {
    const task = this.byIdempotencyKey.get(key);
    if (task === undefined) return undefined;
    const expiresAtMs = task.idempotencyExpiresAtMs;
    const holds = !isFinal(task.status) || (expiresAtMs !== undefined && nowMs < expiresAtMs);
    if (holds) return task;
    this.byIdempotencyKey.delete(key);
    return undefined;
  }

  /**
   * Files stored records into an empty index, with their retry waits, deadlines and
   * finish order. Returns the records kept, and those ignored because a newer one has
   * the same id.
   */
  restore(records: readonly TaskRecord[]): { kept: readonly TaskRecord[]; ignored: TaskRecord[] } {
    if (this.tasks.size > 0) throw new Error('restore() needs an empty task index');
    // Rows that repeat an id (a store written before ids were checked as text: two lone
    // surrogates both read back as U+FFFD) keep only the newest, so the leader still starts.
    const newest = new Map<string, TaskRecord>();
    for (const task of records) {
      const seen = newest.get(task.id);
      if (seen === undefined || seen.seq < task.seq) newest.set(task.id, task);
    }
    const ignored = records.filter((task) => newest.get(task.id) !== task);
    const kept = ignored.length === 0 ? records : [...newest.values()];
    for (const task of kept) {
      this.tasks.set(task.id, task);
      this.bySeq.set(task.seq, task);
      this.byStatus[task.status].set(task.seq, task);
      if (task.status === 'pending' && task.retryAtMs !== undefined) {
        this.delay(task, task.retryAtMs);
      }
      if (task.status === 'running') this.trackDeadline(task);
      if (task.status === 'scheduled') this.trackRunAt(task);
      // Records come in creation order, so the newest task with a key ends up holding it.
      if (task.idempotencyKey !== undefined) this.byIdempotencyKey.set(task.idempotencyKey, task);
    }
    const finished = kept.filter((task) => isFinal(task.status));
    finished.sort((a, b) => (a.finishedAtMs ?? 0) - (b.finishedAtMs ?? 0) || a.seq - b.seq);
    for (const task of finished) this.finished.set(task.id, task);
    // Even the ignored rows' seqs are taken: a new task must not reuse one.
    for (const task of records) this.lastSeq = Math.max(this.lastSeq, task.seq);
    return { kept, ignored };
  }

  /**
   * Every status change goes through here, so the per-status indexes (and the deadlines of
   * running tasks) stay true, and a change `TASK_TRANSITIONS` does not allow throws. Set
   * `startedAtMs` before moving a task to running.
   */
  setStatus(task: TaskRecord, status: TaskStatus): void {
    checkTaskTransition(task.status, status);
    if (task.status === status) return;
    if (task.status === 'running') this.untrackDeadline(task);
    if (task.status === 'scheduled') this.scheduled.delete(runAtKey(task));
    if (isFinal(task.status)) this.reopen(task);
    this.byStatus[task.status].delete(task.seq);
    this.byStatus[status].set(task.seq, task);
    task.status = status;
    if (status === 'running') this.trackDeadline(task);
    if (status === 'scheduled') this.trackRunAt(task);
    if (isFinal(status)) {
      this.finished.set(task.id, task);
      if (task.idempotencyExpiresAtMs === undefined) this.releaseKey(task);
    }
  }

  /** Removes a finished task from every index. */
  drop(task: TaskRecord): void {
    if (!isFinal(task.status)) throw new Error(`task ${task.id} is ${task.status}, not finished`);
    this.finished.delete(task.id);
    this.releaseKey(task);
    this.tasks.delete(task.id);
    this.bySeq.delete(task.seq);
    this.byStatus[task.status].delete(task.seq);
  }

  /** Files a pending task under its retry time; {@link takeDue} hands it back then. */
  delay(task: TaskRecord, retryAtMs: number): void {
    if (task.status !== 'pending') throw new Error(`only a pending task waits for a retry`);
    task.retryAtMs = retryAtMs;
    this.delayed.set([retryAtMs, task.seq], task);
  }

  /** Takes a task out of its retry wait; false if it was not waiting. */
  undelay(task: TaskRecord): boolean {
    if (task.retryAtMs === undefined) return false;
    this.delayed.delete([task.retryAtMs, task.seq]);
    task.retryAtMs = undefined;
    return true;
  }

  /** Takes every task whose retry time is at or before `nowMs` out of its wait, first due first. */
  takeDue(nowMs: number): TaskRecord[] {
    const due = dueBy(this.delayed, nowMs);
    for (const task of due) this.undelay(task);
    return due;
  }

  /**
   * Scheduled tasks whose run time is at or before `nowMs`, first due first (ties in
   * creation order); they stay scheduled until the caller moves them on.
   */
  scheduledDue(nowMs: number): TaskRecord[] {
    return dueBy(this.scheduled, nowMs);
  }

  /**
   * Up to `limit` scheduled tasks due at or before `horizonMs`, earliest first, and after
   * `after` in that order if given (a task an earlier call returned, scheduled or not
   * since): candidates for a timed start, see timed-starts.ts. They stay scheduled.
   */
  scheduledBy(horizonMs: number, limit: number, after?: TaskRecord): TaskRecord[] {
    const due: TaskRecord[] = [];
    // Sequence numbers are whole: half past `after`'s is the first key after it.
    const from: TimeKey | undefined = after && [after.runAtMs!, after.seq + 0.5];
    for (const [[timeMs], task] of this.scheduled.entries(from)) {
      if (timeMs > horizonMs || due.length >= limit) break;
      due.push(task);
    }
    return due;
  }

  /** The run time of the first scheduled task due after `afterMs`, if any. */
  nextScheduledAfter(afterMs: number): number | undefined {
    return this.scheduled.nextHigherKey([afterMs, Number.MAX_SAFE_INTEGER])?.[0];
  }

  /**
   * Running tasks whose deadline is at or before `nowMs`, earliest first. They stay filed
   * until they leave `running`.
   */
  pastDeadline(nowMs: number): TaskRecord[] {
    return dueBy(this.deadlines, nowMs);
  }

  /** The running task's timeout counts from `atMs` on (its attempt began then). */
  restartTimeout(task: TaskRecord, atMs: number): void {
    if (task.status !== 'running' || task.timeoutMs <= 0) return;
    this.untrackDeadline(task);
    task.timeoutFrom = { attempt: task.attempt, atMs };
    this.trackDeadline(task);
  }

  /** Failed tasks (status error) in creation order, at most `limit` (dead letters). */
  failed(limit: number): TaskRecord[] {
    const tasks: TaskRecord[] = [];
    for (const task of this.byStatus.error.values()) {
      if (tasks.length >= limit) break;
      tasks.push(task);
    }
    return tasks;
  }

  /** Every running task, in creation order. */
  running(): TaskRecord[] {
    return [...this.byStatus.running.values()];
  }

  /**
   * Finished tasks, the oldest-finished first. Dropping the task just returned while
   * iterating is allowed.
   */
  finishedOldestFirst(): IterableIterator<TaskRecord> {
    return this.finished.values();
  }

  /** Every task, in creation order. */
  all(): TaskRecord[] {
    return [...this.bySeq.values()];
  }

  /** One page of tasks (see {@link listPage}): a status filter walks that status's index. */
  list(query: TaskQuery): TaskPage {
    return listPage(query.status === undefined ? this.bySeq : this.byStatus[query.status], query);
  }

  /**
   * A finished task open again (an operator re-ran a failed one): out of the finish order,
   * and holding its idempotency key again unless another task took it meanwhile.
   */
  private reopen(task: TaskRecord): void {
    this.finished.delete(task.id);
    const key = task.idempotencyKey;
    if (key !== undefined && !this.byIdempotencyKey.has(key)) this.byIdempotencyKey.set(key, task);
  }

  /** Lets go of the task's idempotency key, if this task is the one holding it. */
  private releaseKey(task: TaskRecord): void {
    const key = task.idempotencyKey;
    if (key !== undefined && this.byIdempotencyKey.get(key) === task) {
      this.byIdempotencyKey.delete(key);
    }
  }

  private trackRunAt(task: TaskRecord): void {
    if (task.runAtMs === undefined) throw new Error(`scheduled task ${task.id} has no run time`);
    this.scheduled.set(runAtKey(task), task);
  }

  private trackDeadline(task: TaskRecord): void {
    if (task.timeoutMs > 0) this.deadlines.set(deadlineKey(task), task);
  }

  private untrackDeadline(task: TaskRecord): void {
    if (task.timeoutMs > 0) this.deadlines.delete(deadlineKey(task));
  }
}

/** A point in time and a task's seq: orders retry waits and deadlines, ties by age. */
type TimeKey = readonly [timeMs: number, seq: number];

function compareTimeKeys(a: TimeKey, b: TimeKey): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The tasks of a time-keyed tree whose time is at or before `nowMs`, earliest first. */
function dueBy(tree: BTree<TimeKey, TaskRecord>, nowMs: number): TaskRecord[] {
  const due: TaskRecord[] = [];
  for (const [[timeMs], task] of tree.entries()) {
    if (timeMs > nowMs) break;
    due.push(task);
  }
  return due;
}

function runAtKey(task: TaskRecord): TimeKey {
  return [task.runAtMs!, task.seq];
}

function deadlineKey(task: TaskRecord): TimeKey {
  const { timeoutFrom } = task;
  const fromMs = timeoutFrom?.attempt === task.attempt ? timeoutFrom.atMs : task.startedAtMs!;
  return [fromMs + task.timeoutMs, task.seq];
}
