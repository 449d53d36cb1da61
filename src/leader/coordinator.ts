import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import { UnavailableError } from '../shared/errors.js';
import type { IdSource, MemberId, TaskId } from '../shared/ids.js';
import {
  Scheduler,
  type CompletionReport,
  type StartOrder,
  type TaskPage,
  type TaskQuery,
} from '../scheduler/scheduler.js';
import { TaskOutputLog, type OutputChunk } from '../scheduler/task-output.js';
import type { TaskRecord } from '../scheduler/task.js';
import type { TaskStore } from '../scheduler/store/store.js';
import { MembershipRegistry, type JoinSpec } from './membership/registry.js';
import { WatchLimiter } from './watch-limiter.js';
import { WatchTurns } from '../shared/watch-pump.js';
import { systemLeaderTimers, type LeaderTimers } from './leader-timers.js';
import {
  ClusterEvents,
  type MemberEvent,
  type OutputEvent,
  type TaskEvent,
} from './cluster-events.js';
import { CommitPipeline } from './commit-pipeline.js';
import { WorkChannels } from './work-channels.js';
import { MemberFeed } from './member-feed.js';
import { Assignment } from './assignment.js';
import { MemberLifecycle, type JoinAnswer } from './member-lifecycle.js';
import { TaskCommands, type CancelOutcome, type ScheduleOutcome } from './task-commands.js';
import { CronSchedules } from './cron/cron-schedules.js';
import type { LeaderMetrics } from './metrics/leader-metrics.js';
import { LimitControls } from './limit-controls.js';
import { Pauses } from './pauses.js';
import { restoreState } from './restore-state.js';
import { OutputFeed, type OutputInput } from './output-feed.js';
import { startMaintenance, type MaintenanceJob } from './maintenance/maintenance.js';
import { DuePromotion } from './maintenance/due-promotion.js';
import { ReattachGrace } from './maintenance/reattach-grace.js';
import { periodicJobs } from './maintenance/periodic-jobs.js';
import type { TaskTracer } from './tracing/task-tracer.js';
import { SavedTasks } from './saved-tasks.js';
import type { HeartbeatInput, MemberView, NewTaskInput, WorkChannel } from './views.js';

export type { HeartbeatInput, MemberView, NewTaskInput, WorkChannel } from './views.js';

/** The leader's explicit dependencies, built once by main.ts. */
export interface LeaderDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly store: TaskStore;
  /** Called when the leader can no longer keep its promises (a store write failed). */
  readonly fail: (err: unknown) => void;
  /** The maintenance ticker and per-turn deferral; Node's unless a test injects them. */
  readonly timers?: LeaderTimers;
  /**
   * The leader's metrics: told of every saved task step (and, by a store the HA leader opens
   * itself, of every group commit).
   */
  readonly metrics?: Pick<LeaderMetrics, 'observeCommit' | 'count' | 'countAhead' | 'countRecalls'>;
  /** Spans of each task's schedule, queue wait, assignment and completion; none if unset. */
  readonly tracer?: TaskTracer;
}

import {
  DEFAULT_WATCH_LIMITS,
  WATCH_TURN_BUDGET_MS,
  type CoordinatorOptions,
} from './coordinator-options.js';

export type { CoordinatorOptions } from './coordinator-options.js';

/**
 * The leader's one entry point for every cluster and scheduler operation, which the gRPC
 * and HTTP adapters call. It owns the lifecycle (start, shutdown) and the pure cores, and
 * hands each call to the unit responsible: membership glue (MemberLifecycle), task
 * commands, output, assignment, and the maintenance jobs, all of which save through one
 * commit pipeline (save, then notify, then act).
 */
export class Coordinator {
  /** Task and member changes, for watchers. */
  readonly events = new ClusterEvents();
  /** Counts open watches (gRPC and HTTP adapters admit each one through it). */
  readonly watchers: WatchLimiter;
  private readonly scheduler: Scheduler;
  private readonly output: TaskOutputLog;
  private readonly channels: WorkChannels;
  private readonly assignment: Assignment;
  private readonly lifecycle: MemberLifecycle;
  private readonly commands: TaskCommands;
  private readonly outputFeed: OutputFeed;
  private readonly reattach: ReattachGrace;
  private readonly due: DuePromotion;
  private readonly savedTasks: SavedTasks;
  /** Pause and resume per kind and per concurrency key (durable). */
  readonly pauses: Pauses;
  /** Concurrency and rate limits per key, defaults per kind (durable). */
  readonly limits: LimitControls;
  /** Named cron schedules (durable). */
  readonly crons: CronSchedules;
  private readonly jobs: readonly MaintenanceJob[];
  private readonly timers: LeaderTimers;
  private readonly log: Logger;
  private stopMaintenance: () => void = () => {};
  private stopping = false;
  private started = false;

  constructor(
    private readonly deps: LeaderDeps,
    private readonly options: CoordinatorOptions,
  ) {
    const { clock, ids } = deps;
    const timers = (this.timers = deps.timers ?? systemLeaderTimers);
    const defer = (fn: () => void) => timers.defer(fn);
    const log = (this.log = deps.logger.child({ component: 'coordinator' }));
    const membership = new MembershipRegistry(options.timing);
    const { maxPayloadBytes, taskPolicy: policy, prefetch, timedStartLeadMs } = options;
    // A task lost on its last attempt waits as long for its worker as the worker's death took.
    const lostAttemptGraceMs = options.timing.deadAfterMs;
    const scheduler = (this.scheduler = new Scheduler({
      ...{ maxPayloadBytes, policy, prefetch, timedStartLeadMs, lostAttemptGraceMs },
    }));
    const [events, output] = [this.events, (this.output = new TaskOutputLog(options.output))];
    this.watchers = new WatchLimiter(
      options.watchers ?? DEFAULT_WATCH_LIMITS,
      new WatchTurns({ defer, nowMs: () => clock.nowMs(), budgetMs: WATCH_TURN_BUDGET_MS }),
    );
    this.savedTasks = new SavedTasks({ clock, metrics: deps.metrics });
    const commits = new CommitPipeline({
      store: deps.store,
      events,
      output,
      onStoreFailure: (err) => {
        this.shutdown('leader stopped after a store failure');
        deps.fail(err);
      },
      onSaved: (changed) => this.savedTasks.saved(changed),
    });
    const channels = (this.channels = new WorkChannels(log, this.startTracing(deps.tracer)));
    const feed = new MemberFeed(events, defer, () => this.lifecycle.views());
    const assignment = (this.assignment = new Assignment({
      ...{ scheduler, commits, channels, feed, clock, log, defer },
      // A round may empty a rate bucket: the due timer then has an earlier time to keep.
      afterRound: () => this.due.refresh(),
      onAhead: deps.metrics && ((counts) => deps.metrics?.countAhead(counts)),
    }));
    const members = (this.lifecycle = new MemberLifecycle({
      ...{ membership, scheduler, channels, commits, assignment, feed, clock, ids, log },
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      timing: options.timing,
    }));
    const due = (this.due = new DuePromotion({ scheduler, commits, assignment, timers, clock }));
    const assertRunning = () => this.assertRunning();
    const commands = (this.commands = new TaskCommands({
      ...{ scheduler, members, commits, assignment, channels, feed, clock, ids, log, due },
      ...{ assertRunning, tracer: deps.tracer, output },
    }));
    // The operators' controls: each a stored control, in force at once, watched.
    const controls = { scheduler, commits, assignment, events, clock, log, assertRunning };
    this.pauses = new Pauses(controls);
    this.limits = new LimitControls(controls);
    this.crons = new CronSchedules({ ...controls, timers, commands });
    this.outputFeed = new OutputFeed({
      getTask: (id) => scheduler.get(id),
      ...{ output, events, commits },
    });
    const reattach = (this.reattach = new ReattachGrace({ scheduler, commits, assignment, log }));
    const jobParts = { scheduler, assignment, membership, members, feed, commits, channels, log };
    this.jobs = periodicJobs({ ...jobParts, due, reattach, ...options, metrics: deps.metrics });
  }

  /** The trace context each start carries to its worker, when the leader traces. */
  private startTracing(tracer: TaskTracer | undefined) {
    if (tracer === undefined) return undefined;
    return (start: StartOrder) =>
      tracer.assigned(this.scheduler.get(start.taskId), start, this.deps.clock.nowMs());
  }

  /** Loads the task list from the store and starts the maintenance jobs. */
  async start(): Promise<void> {
    const { scheduler, pauses, limits, crons, output, log } = this;
    const { running, records } = await restoreState(
      { store: this.deps.store, scheduler, controls: [pauses, limits, crons], output, log },
      this.options.reattachGraceMs,
    );
    if (running > 0) this.reattach.arm(this.deps.clock.nowMs() + this.options.reattachGraceMs);
    // The records just loaded: no second walk of the task list at start.
    this.savedTasks.restored(records);
    // What fell due while no leader ran is queued now, the rest on time.
    this.due.run(this.deps.clock.nowMs());
    this.crons.run(this.deps.clock.nowMs());
    this.stopMaintenance = startMaintenance(
      this.timers,
      this.deps.clock,
      this.options.sweepIntervalMs,
      this.jobs,
    );
    this.started = true;
  }

  /** Stops taking requests and closes every worker's stream with UNAVAILABLE. */
  shutdown(reason: string): void {
    this.stopping = true;
    this.stopMaintenance();
    this.due.stop();
    this.crons.stop();
    this.assignment.stop();
    this.channels.closeAll(reason);
    this.events.close(reason);
  }

  /** True while the leader takes requests (started, not shutting down). */
  get ready(): boolean {
    return this.started && !this.stopping;
  }

  // ---- membership -------------------------------------------------------------------

  /** Join: admits a worker; it gets work once its first heartbeat arrives. */
  join(spec: Omit<JoinSpec, 'session'>): JoinAnswer {
    this.assertRunning();
    return this.lifecycle.join(spec);
  }

  /** Leave: the member goes; anything it still ran goes back to the queue. */
  leave(id: MemberId, session?: string): void {
    this.lifecycle.leave(id, session);
  }

  /** Every known member with its load. */
  members(): MemberView[] {
    return this.lifecycle.views();
  }

  /** Drain: no new work to the member; what it runs finishes. Returns it as it is now. */
  drain(id: MemberId): MemberView {
    this.assertRunning();
    return this.lifecycle.drain(id);
  }

  /** Undrain: an operator's drain ends; the member takes new work again. */
  undrain(id: MemberId): MemberView {
    this.assertRunning();
    return this.lifecycle.undrain(id);
  }

  /** A heartbeat stream opened: it becomes the member's work channel. */
  openStream(id: MemberId, session: string, channel: WorkChannel): number {
    this.assertRunning();
    return this.lifecycle.openStream(id, session, channel);
  }

  /** A heartbeat (see MemberLifecycle.heartbeat). */
  heartbeat(id: MemberId, streamId: number, input: HeartbeatInput, first: boolean): void {
    this.lifecycle.heartbeat(id, streamId, input, first);
  }

  /** A heartbeat stream ended (worker closed it, or the connection broke). */
  closeStream(id: MemberId, streamId: number, reason: string): void {
    // Shutting down, this leader closes every stream itself: its workers are not lost, they
    // run on and re-attach their tasks to the next leader. Requeuing (and saving) their
    // tasks now would let that leader hand them out again before the workers are back.
    if (this.stopping) return;
    this.lifecycle.closeStream(id, streamId, reason);
  }

  // ---- tasks ------------------------------------------------------------------------

  /**
   * ScheduleTask: enqueues; resolves once the task is saved, with `existing` when its
   * idempotency key was held by a task already there (then that task, unchanged).
   */
  async scheduleTask(spec: NewTaskInput): Promise<{ task: TaskRecord; existing: boolean }> {
    const { tasks, existing } = await this.commands.schedule([spec]);
    return { task: tasks[0]!, existing: existing[0]! };
  }

  /** ScheduleTasks: enqueues all or none, in order; resolves once all are saved. */
  scheduleTasks(specs: readonly NewTaskInput[]): Promise<ScheduleOutcome> {
    return this.commands.schedule(specs);
  }

  /** CancelTask: a pending task is cancelled at once, a running one stopped on its worker. */
  cancelTask(id: TaskId): Promise<CancelOutcome> {
    return this.commands.cancel(id);
  }

  /** TaskComplete: records the end of an attempt; stale attempts are refused. */
  completeTask(report: CompletionReport): Promise<TaskRecord> {
    return this.commands.complete(report);
  }

  /** A command task pinned to one member (the seed API's /start); see TaskCommands. */
  startCommand(
    memberId: MemberId,
    command: string,
    args: readonly string[],
    cwd?: string,
  ): Promise<TaskRecord> {
    return this.commands.startCommand(memberId, command, args, cwd);
  }

  /** DeleteTask: forgets a finished task now; an open one must be cancelled first. */
  deleteTask(id: TaskId): Promise<TaskRecord> {
    return this.commands.delete(id);
  }

  /** GetTask. */
  getTask(id: TaskId): TaskRecord {
    return this.scheduler.get(id);
  }

  /** Tasks by status and queued ones by priority (metrics). */
  taskCounts(): ReturnType<Scheduler['counts']> {
    return this.scheduler.counts();
  }

  /** GetTasks: one page in creation order. */
  listTasks(query: TaskQuery): TaskPage {
    return this.scheduler.list(query);
  }

  /** Why a task that could start does not (a paused kind), if the leader holds it back. */
  waitingReason(task: TaskRecord): string | undefined {
    return this.scheduler.waitingReason(task);
  }

  /**
   * Re-runs a failed task (the one named) or the failed tasks of a kind, each as a new
   * series of attempts; resolves with the tasks re-run once saved.
   */
  rerunTasks(target: { id: TaskId } | { kind: string }): Promise<TaskRecord[]> {
    return this.commands.rerun(target);
  }

  // ---- watches and output -----------------------------------------------------------

  /**
   * Watches tasks: the listener is registered before the snapshot is taken, in the same
   * turn, so no change falls between them. The snapshot is every task in creation order,
   * or with `onlyId` that task alone (none if there is no such task).
   */
  watchTasks(
    listener: (event: TaskEvent) => void,
    withSnapshot = true,
    onlyId?: TaskId,
  ): {
    snapshot: TaskRecord[];
    unsubscribe: () => void;
  } {
    this.assertRunning();
    const unsubscribe = this.events.onTask(listener);
    return { snapshot: withSnapshot ? this.scheduler.all(onlyId) : [], unsubscribe };
  }

  /** Watches members: registered before the snapshot, as for tasks. */
  watchMembers(listener: (event: MemberEvent) => void): {
    snapshot: MemberView[];
    unsubscribe: () => void;
  } {
    this.assertRunning();
    const unsubscribe = this.events.onMember(listener);
    return { snapshot: this.lifecycle.views(), unsubscribe };
  }

  /** Output a member sent for its attempts (see OutputFeed.append). */
  appendOutput(memberId: MemberId, chunks: readonly OutputInput[]): Promise<void> {
    return this.outputFeed.append(memberId, chunks);
  }

  /** A task's output from `offset`, and (with a listener) what follows (see OutputFeed). */
  readOutput(
    taskId: TaskId,
    offset: number,
    listener?: (event: OutputEvent) => void,
  ): { chunks: OutputChunk[]; done: boolean; unsubscribe: () => void } {
    // A follow that starts during shutdown would miss the close notice: refuse it.
    if (listener) this.assertRunning();
    return this.outputFeed.read(taskId, offset, listener);
  }

  // ---- internals --------------------------------------------------------------------

  private assertRunning(): void {
    if (this.stopping) throw new UnavailableError('the leader is shutting down');
  }
}
