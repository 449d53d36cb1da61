import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { NotFoundError, StaleError } from '../shared/errors.js';
import type { IdSource, MemberId, TaskId } from '../shared/ids.js';
import { checkText } from '../shared/text.js';
import type { CompletionReport, Scheduler } from '../scheduler/scheduler.js';
import { checkKind, type TaskRecord } from '../scheduler/task.js';
import type { Assignment } from './assignment.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MemberFeed } from './member-feed.js';
import type { MemberLifecycle } from './member-lifecycle.js';
import type { DuePromotion } from './maintenance/due-promotion.js';
import { isLive } from './membership/state.js';
import type { NewTaskInput } from './views.js';
import type { WorkChannels } from './work-channels.js';
import type { TaskOutputLog } from '../scheduler/task-output.js';
import type { ScheduleSpans, TaskTracer } from './tracing/task-tracer.js';

/** What the task commands read and drive. */
export interface TaskCommandsDeps {
  readonly scheduler: Scheduler;
  readonly members: Pick<MemberLifecycle, 'get' | 'recordOutcome'>;
  readonly commits: Pick<CommitPipeline, 'save' | 'remove' | 'flushed'>;
  readonly assignment: Pick<Assignment, 'takeNowWith' | 'dispatch' | 'request'>;
  readonly channels: Pick<WorkChannels, 'sendStop'>;
  readonly feed: Pick<MemberFeed, 'changed'>;
  readonly clock: Clock;
  readonly ids: Pick<IdSource, 'taskId'>;
  readonly log: Logger;
  /** Told when a task may now fall due earlier than before (a delayed task, a retry). */
  readonly due: Pick<DuePromotion, 'refresh'>;
  /** Throws UNAVAILABLE once the leader is shutting down. */
  readonly assertRunning: () => void;
  /** The tasks' spans, when the leader traces. */
  readonly tracer?: Pick<TaskTracer, 'startSchedule' | 'completed'> | undefined;
  /** Tasks' output: a re-run task's is open again (not evicted as a finished task's). */
  readonly output?: Pick<TaskOutputLog, 'reopen'> | undefined;
}

/**
 * What a schedule did: the tasks, in the order asked for, and which of them were already
 * there (their idempotency key was held, so nothing was created for them).
 */
export interface ScheduleOutcome {
  readonly tasks: TaskRecord[];
  readonly existing: boolean[];
}

/** The most failed tasks one re-run of a kind takes (call again for more). */
export const MAX_RERUN = 10_000;

/**
 * What a cancel did: the task as it is now, whether a stop went to its worker, and whether
 * it was cancelled before (the call changed nothing).
 */
export interface CancelOutcome {
  readonly task: TaskRecord;
  readonly stopSent: boolean;
  readonly alreadyCancelled: boolean;
}

/**
 * The task operations callers ask for: schedule, cancel, complete, delete. Each changes the
 * pure scheduler, saves through the commit pipeline, and only then answers or tells a worker.
 */
export class TaskCommands {
  constructor(private readonly deps: TaskCommandsDeps) {}

  /**
   * Enqueues all or none, in order; resolves once all are saved. A task whose idempotency
   * key is held is answered by the task holding it, once that one is saved too.
   */
  async schedule(specs: readonly NewTaskInput[]): Promise<ScheduleOutcome> {
    this.deps.assertRunning();
    const spans = this.deps.tracer?.startSchedule(specs);
    if (spans === undefined) return this.scheduleTraced(specs);
    try {
      // The spans close before the starts go out, so the assignment finds the task's trace.
      return await this.scheduleTraced(specs, spans);
    } catch (err) {
      spans.failed(err);
      throw err;
    }
  }

  private async scheduleTraced(
    specs: readonly NewTaskInput[],
    spans?: ScheduleSpans,
  ): Promise<ScheduleOutcome> {
    const { scheduler, assignment, ids } = this.deps;
    const withIds = specs.map((spec) => ({
      ...spec,
      id: spec.id === undefined || spec.id === '' ? ids.taskId() : spec.id,
    }));
    const nowMs = this.deps.clock.nowMs();
    const { tasks, changed, existing } = scheduler.scheduleMany(nowMs, withIds);
    if (changed.some((task) => task.status === 'scheduled')) this.deps.due.refresh();
    // Free slots take new tasks at once, so a task and its assignment are saved in one
    // commit: one write and one fsync on the way from schedule to start, not two.
    const round = assignment.takeNowWith(nowMs, changed);
    // A task answered by its idempotency key may still be on its way to the store: the
    // answer waits until everything saved before it has landed, and so never promises a
    // task a crash could still lose.
    const saving = this.deps.commits.save(round.saved);
    await (changed.length === tasks.length
      ? saving
      : Promise.all([saving, this.deps.commits.flushed()]));
    // Per task, so at debug (see logOutcome); guarded: the fields object would be built
    // per task even when debug is off.
    if (this.deps.log.isLevelEnabled('debug')) {
      for (const task of changed) {
        this.deps.log.debug(
          {
            taskId: task.id,
            kind: task.kind,
            priority: task.priority,
            target: task.targetMemberId,
            runAtMs: task.runAtMs,
            idempotencyKey: task.idempotencyKey,
          },
          'task scheduled',
        );
      }
    }
    spans?.saved(tasks, existing);
    assignment.dispatch(round.starts);
    return { tasks, existing };
  }

  /**
   * A pending task is cancelled at once, a running one stopped on its worker; says whether
   * this call sent that stop (a second cancel of a task changes and sends nothing).
   */
  async cancel(id: TaskId): Promise<CancelOutcome> {
    this.deps.assertRunning();
    const { task, changed, stop } = this.deps.scheduler.cancel(this.deps.clock.nowMs(), id);
    if (changed.length === 0) return { task, stopSent: false, alreadyCancelled: true };
    await this.deps.commits.save(changed);
    this.deps.log.info(
      { taskId: id, attempt: task.attempt, memberId: task.memberId },
      'task cancelled',
    );
    if (stop) this.deps.channels.sendStop(stop);
    return { task, stopSent: stop !== undefined, alreadyCancelled: false };
  }

  /** Records the end of an attempt; stale attempts are refused. */
  async complete(report: CompletionReport): Promise<TaskRecord> {
    const nowMs = this.deps.clock.nowMs();
    let outcome: ReturnType<Scheduler['complete']>;
    try {
      outcome = this.deps.scheduler.complete(nowMs, report);
    } finally {
      // A slot may have been freed even when nothing changed (a cancelled task's ack, or a
      // refused report of a timed-out attempt).
      this.deps.assignment.request();
      this.deps.feed.changed(report.memberId);
    }
    const { task, changed, stop } = outcome;
    if (task.retryAtMs !== undefined) this.deps.due.refresh();
    if (report.memberId === undefined) this.deps.feed.changed(task.memberId);
    if (changed.length === 0) return task;
    if (report.notStarted === true) return this.handedBack(task, report, changed);
    if (report.memberId !== undefined) {
      // A permanent error is about the task (bad input), not about the member that ran it.
      const failed = report.error !== undefined && report.permanent !== true;
      this.deps.members.recordOutcome(this.deps.clock.nowMs(), report.memberId, failed);
    }
    await this.deps.commits.save(changed);
    this.deps.tracer?.completed(task, report, nowMs);
    if (stop) this.deps.channels.sendStop(stop);
    this.logOutcome(task, nowMs);
    return task;
  }

  /**
   * An attempt its worker handed back unstarted, queued again: it says nothing about the
   * member (no outcome toward quarantine) nor about the task (nothing traced as run).
   */
  private async handedBack(
    task: TaskRecord,
    report: CompletionReport,
    changed: TaskRecord[],
  ): Promise<TaskRecord> {
    if (task.status === 'scheduled') this.deps.due.refresh();
    await this.deps.commits.save(changed);
    this.deps.log.info(
      { taskId: task.id, attempt: report.attempt, memberId: report.memberId, status: task.status },
      'task handed back unstarted',
    );
    return task;
  }

  /**
   * A command task pinned to one member (the seed API's /start): refused up front when the
   * member is unknown or does not allow-list the command, rather than failed on the worker.
   */
  async startCommand(
    memberId: MemberId,
    command: string,
    args: readonly string[],
    cwd?: string,
  ): Promise<TaskRecord> {
    const member = this.deps.members.get(memberId);
    if (!member || !isLive(member.state)) {
      throw new NotFoundError(`worker ${memberId} is not a live member of the cluster`);
    }
    if (member.state === 'draining') {
      // Pinned work would wait for a worker that takes none: refuse it now.
      throw new StaleError(`worker ${memberId} is draining; it takes no new work`);
    }
    checkText(command, 'command');
    args.forEach((arg, i) => checkText(arg, `argument ${i + 1}`));
    if (cwd !== undefined) checkText(cwd, 'cwd');
    if (!member.allowedCommands.has(command)) {
      const allowed = [...member.allowedCommands].join(', ') || 'none';
      throw new StaleError(
        `worker ${memberId} does not allow-list command "${command}" (allowed: ${allowed})`,
      );
    }
    const payload = JSON.stringify({ command, args, ...(cwd === undefined ? {} : { cwd }) });
    const { tasks } = await this.schedule([{ payload, kind: 'command', targetMemberId: memberId }]);
    return tasks[0]!;
  }

  /**
   * Re-runs failed tasks (dead letters) as new series of attempts: the one named, or every
   * failed task of `kind` (at most {@link MAX_RERUN} per call, oldest first). Saved with the
   * assignments they get at once, then started; resolves with the tasks re-run.
   */
  async rerun(target: { id: TaskId } | { kind: string }): Promise<TaskRecord[]> {
    this.deps.assertRunning();
    const { scheduler, assignment, log } = this.deps;
    const nowMs = this.deps.clock.nowMs();
    if ('kind' in target) checkKind(target.kind);
    const ids =
      'id' in target
        ? [target.id]
        : scheduler.failedTasks(target.kind, MAX_RERUN).map((task) => task.id);
    const tasks = ids.map((id) => scheduler.rerun(id).task);
    if (tasks.length === 0) return tasks;
    for (const task of tasks) this.deps.output?.reopen(task.id);
    const round = assignment.takeNowWith(nowMs, tasks);
    await this.deps.commits.save(round.saved);
    for (const task of tasks) {
      log.info({ taskId: task.id, fromAttempt: task.attemptBase }, 'failed task re-run');
    }
    assignment.dispatch(round.starts);
    return tasks;
  }

  /** Forgets a finished task now; an open one must be cancelled first. */
  async delete(id: TaskId): Promise<TaskRecord> {
    this.deps.assertRunning();
    const task = this.deps.scheduler.forget(id);
    await this.deps.commits.remove([task]);
    this.deps.log.info({ taskId: id }, 'task deleted');
    return task;
  }

  /**
   * A task's ordinary life (scheduled, assigned, completed) is logged at debug: at info, a
   * leader running 10,000 tasks a second wrote 30,000 lines a second, and the writing cost
   * it more CPU per task than its work (measured: +35-55 µs a task, throughput down 15-40 %
   * on SQLite). Failures and retries stay at info: an operator wants those.
   */
  private logOutcome(task: TaskRecord, nowMs: number): void {
    const level = task.status === 'completed' ? 'debug' : 'info';
    if (!this.deps.log.isLevelEnabled(level)) return;
    this.deps.log[level](
      {
        taskId: task.id,
        attempt: task.attempt,
        memberId: task.memberId,
        status: task.status,
        error: task.error,
        retryInMs: task.retryAtMs === undefined ? undefined : task.retryAtMs - nowMs,
      },
      task.status === 'completed'
        ? 'task completed'
        : task.status === 'error'
          ? 'task failed'
          : 'task attempt failed; retrying',
    );
  }
}
