import type { Logger } from 'pino';
import type { Clock } from '../shared/clock.js';
import {
  errorMessage,
  NotFoundError,
  StaleError,
  StorageFullError,
  UnavailableError,
} from '../shared/errors.js';
import type { IdSource, MemberId, TaskId } from '../shared/ids.js';
import {
  Scheduler,
  type CompletionReport,
  type NewTask,
  type RunningAttempt,
  type StartOrder,
  type StopOrder,
  type TaskPage,
  type TaskQuery,
} from '../scheduler/scheduler.js';
import type { TaskPolicyDefaults } from '../scheduler/retry-policy.js';
import { TaskOutputLog, type OutputChunk, type OutputLimits } from '../scheduler/task-output.js';
import { isFinal } from '../scheduler/task.js';
import type { StoredOutput, TaskStore } from '../scheduler/store/store.js';
import type { TaskRecord } from '../scheduler/task.js';
import {
  MembershipRegistry,
  memberTakesWork,
  type HeartbeatReport,
  type QuarantineChange,
  type JoinSpec,
  type Member,
  type MembershipTiming,
  type Transition,
} from './membership/registry.js';
import { isLive } from './membership/state.js';
import { checkText } from '../shared/text.js';
import { WatchLimiter, type WatchLimits } from './watch-limiter.js';
import { WatchTurns } from '../shared/watch-pump.js';
import { systemLeaderTimers, type LeaderTimers } from './leader-timers.js';
import {
  ClusterEvents,
  type MemberEvent,
  type OutputEvent,
  type TaskEvent,
} from './cluster-events.js';

/** Most finished tasks one sweep prunes, so a sweep stays short whatever the backlog. */
const PRUNE_PER_SWEEP = 1_000;

/** The leader's explicit dependencies, built once by main.ts. */
export interface LeaderDeps {
  readonly clock: Clock;
  readonly ids: IdSource;
  readonly logger: Logger;
  readonly store: TaskStore;
  /** Called when the leader can no longer keep its promises (a store write failed). */
  readonly fail: (err: unknown) => void;
  /** The sweep's interval timer and per-turn deferral; Node's unless a test injects them. */
  readonly timers?: LeaderTimers;
}

/** Tunables of the coordinator, from the leader's config. */
export interface CoordinatorOptions {
  readonly heartbeatIntervalMs: number;
  readonly timing: MembershipTiming;
  readonly sweepIntervalMs: number;
  readonly maxPayloadBytes: number;
  /** Retry and timeout policy of tasks that name none. */
  readonly taskPolicy: TaskPolicyDefaults;
  /**
   * After a restart, how long tasks that were running wait for their workers to reconnect
   * and re-attach them before they go back to the queue as new attempts.
   */
  readonly reattachGraceMs: number;
  /** Finished tasks kept: at most this many, and none finished longer ago than the age. */
  readonly retention: { readonly finished: number; readonly ageMs: number };
  /** Task output kept in memory: per task and in total, in characters. */
  readonly output: OutputLimits;
  /** Open watches allowed, in all and per client. */
  readonly watchers?: WatchLimits;
}

/** The most time one event-loop turn spends writing watches, in ms (see WatchTurns). */
const WATCH_TURN_BUDGET_MS = 4;

/** Watches allowed when the options name none. */
const DEFAULT_WATCH_LIMITS: WatchLimits = { total: 256, perClient: 64 };

/** How the coordinator reaches a worker: its heartbeat stream, seen from the leader. */
export interface WorkChannel {
  start(order: StartOrder): void;
  stop(order: StopOrder): void;
  /** Ends the stream with UNAVAILABLE and this message. */
  close(reason: string): void;
}

/** A member as the Members RPC shows it. */
export interface MemberView {
  readonly member: Member;
  readonly runningTaskIds: readonly TaskId[];
  readonly slotsFree: number;
  /** Slots held by timed-out attempts the worker was told to stop and has not reported. */
  readonly slotsStopping: number;
  readonly heartbeatAgeMs: number | undefined;
}

/** A task to schedule; the leader makes the id when none is given. */
export type NewTaskInput = Omit<NewTask, 'id'> & { readonly id?: string | undefined };

/** A heartbeat, decoded by the stream adapter. */
export interface HeartbeatInput extends HeartbeatReport {
  readonly running: readonly RunningAttempt[];
}

/**
 * Wires membership to the scheduler and both to the outside: the one implementation of
 * every cluster and scheduler operation, which the gRPC adapters (and later HTTP) call.
 * Membership changes free or block slots; every task change is saved to the store before
 * a worker is told or a caller answered; assignment runs on events (enqueue, freed slot,
 * a member turning alive), coalesced to once per event-loop turn, never on a poll.
 */
export class Coordinator {
  private readonly membership: MembershipRegistry;
  private readonly scheduler: Scheduler;
  private readonly channels = new Map<MemberId, { streamId: number; channel: WorkChannel }>();
  private readonly log: Logger;
  private pumpScheduled = false;
  /** Task and member changes, for watchers. */
  readonly events = new ClusterEvents();
  private readonly dirtyMembers = new Set<MemberId>();
  private readonly output: TaskOutputLog;
  /** Counts open watches (gRPC and HTTP adapters admit each one through it). */
  readonly watchers: WatchLimiter;
  private memberFlushScheduled = false;
  private stopSweep: () => void = () => {};
  private readonly timers: LeaderTimers;
  private stopping = false;
  private started = false;
  /** When restored running tasks stop waiting for their workers; undefined once done. */
  private reattachDeadlineMs: number | undefined;

  constructor(
    private readonly deps: LeaderDeps,
    private readonly options: CoordinatorOptions,
  ) {
    this.timers = deps.timers ?? systemLeaderTimers;
    this.membership = new MembershipRegistry(options.timing);
    this.scheduler = new Scheduler({
      maxPayloadBytes: options.maxPayloadBytes,
      policy: options.taskPolicy,
    });
    this.log = deps.logger.child({ component: 'coordinator' });
    this.output = new TaskOutputLog(options.output);
    this.watchers = new WatchLimiter(
      options.watchers ?? DEFAULT_WATCH_LIMITS,
      new WatchTurns({
        defer: (fn) => this.timers.defer(fn),
        nowMs: () => deps.clock.nowMs(),
        budgetMs: WATCH_TURN_BUDGET_MS,
      }),
    );
  }

  /** Loads the task list from the store and starts the liveness sweep. */
  async start(): Promise<void> {
    const records = await this.deps.store.loadAll();
    const { ignored } = this.scheduler.restore(records);
    if (ignored.length > 0) {
      this.log.error(
        { ignored: ignored.length, seqs: ignored.slice(0, 20).map((task) => task.seq) },
        'task rows that repeat the id of a newer row were ignored (written before ids were checked)',
      );
    }
    const bySeq = new Map(records.map((task) => [task.seq, task]));
    for (const { taskSeq, chunk } of await this.deps.store.loadOutput()) {
      const task = bySeq.get(taskSeq);
      if (task) this.output.restore(task.id, chunk, isFinal(task.status));
    }
    const running = records.filter((task) => task.status === 'running').length;
    if (records.length > 0) {
      this.log.info(
        {
          tasks: records.length,
          pending: this.scheduler.pendingCount,
          running,
          reattachGraceMs: this.options.reattachGraceMs,
        },
        'task list restored',
      );
    }
    if (running > 0) this.reattachDeadlineMs = this.now() + this.options.reattachGraceMs;
    this.stopSweep = this.timers.every(this.options.sweepIntervalMs, () => this.sweep());
    this.started = true;
  }

  /** Stops taking requests and closes every worker's stream with UNAVAILABLE. */
  shutdown(reason: string): void {
    this.stopping = true;
    this.stopSweep();
    for (const { channel } of this.channels.values()) channel.close(reason);
    this.channels.clear();
    this.events.close(reason);
  }

  // ---- membership -------------------------------------------------------------------

  /** Join: admits a worker; it gets work once its first heartbeat arrives. */
  join(spec: Omit<JoinSpec, 'session'>): {
    heartbeatIntervalMs: number;
    heartbeatTimeoutMs: number;
    session: string;
  } {
    this.assertRunning();
    const { member, transition } = this.membership.join(this.now(), {
      ...spec,
      session: this.deps.ids.secret(),
    });
    this.apply(transition);
    return {
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.options.timing.deadAfterMs,
      session: member.session,
    };
  }

  /** Leave: the member goes; anything it still ran goes back to the queue. */
  leave(id: MemberId): void {
    this.apply(this.membership.leave(this.now(), id));
  }

  /** Every known member with its load. */
  members(): MemberView[] {
    const nowMs = this.now();
    return this.membership.list().map((member) => {
      const runningTaskIds = this.scheduler.runningOn(member.id);
      const slotsStopping = this.scheduler.stoppingOn(member.id);
      return {
        member,
        runningTaskIds,
        slotsFree: Math.max(0, member.slots - runningTaskIds.length - slotsStopping),
        slotsStopping,
        heartbeatAgeMs:
          member.lastHeartbeatAtMs === undefined ? undefined : nowMs - member.lastHeartbeatAtMs,
      };
    });
  }

  /** Drain: no new work to the member; what it runs finishes. Returns it as it is now. */
  drain(id: MemberId): MemberView {
    this.assertRunning();
    const transition = this.membership.drain(this.now(), id);
    if (transition) this.apply(transition);
    return this.members().find((view) => view.member.id === id)!;
  }

  /** A heartbeat stream opened: it becomes the member's work channel. */
  openStream(id: MemberId, session: string, channel: WorkChannel): number {
    this.assertRunning();
    const streamId = this.membership.attachStream(id, session);
    const previous = this.channels.get(id);
    if (previous) previous.channel.close('replaced by a newer heartbeat stream');
    this.channels.set(id, { streamId, channel });
    return streamId;
  }

  /**
   * A heartbeat: keeps the member alive and checks what it runs. On the first heartbeat of
   * a stream, attempts it kept running while disconnected are re-attached.
   */
  heartbeat(id: MemberId, streamId: number, input: HeartbeatInput, first: boolean): void {
    const quarantinedBefore = this.membership.get(id)?.quarantine;
    const transition = this.membership.heartbeat(this.now(), id, streamId, input);
    if (transition) this.apply(transition);
    const quarantine = this.membership.get(id)?.quarantine;
    if (quarantinedBefore === undefined && quarantine !== undefined) {
      this.applyQuarantine({ memberId: id, quarantined: true, reason: quarantine.reason });
    }
    if (!first && input.running.length === 0) return;
    const { changed, stops } = this.scheduler.reconcile(id, input.running, first);
    for (const task of changed) {
      this.log.info({ memberId: id, taskId: task.id, attempt: task.attempt }, 'task re-attached');
    }
    if (changed.length > 0) this.memberChanged(id);
    this.persistThen(changed, () => {
      for (const stop of stops) this.sendStop(stop);
      if (first) this.schedulePump();
    });
  }

  /** A heartbeat stream ended (worker closed it, or the connection broke). */
  closeStream(id: MemberId, streamId: number, reason: string): void {
    const current = this.channels.get(id);
    if (current?.streamId === streamId) this.channels.delete(id);
    const transition = this.membership.detachStream(this.now(), id, streamId, reason);
    if (transition) this.apply(transition);
  }

  // ---- tasks ------------------------------------------------------------------------

  /** ScheduleTask: enqueues; resolves once the task is saved. */
  async scheduleTask(spec: NewTaskInput): Promise<TaskRecord> {
    const [task] = await this.scheduleTasks([spec]);
    return task!;
  }

  /** ScheduleTasks: enqueues all or none, in order; resolves once all are saved. */
  async scheduleTasks(specs: readonly NewTaskInput[]): Promise<TaskRecord[]> {
    this.assertRunning();
    const withIds = specs.map((spec) => ({
      ...spec,
      id: spec.id === undefined || spec.id === '' ? this.deps.ids.taskId() : spec.id,
    }));
    const nowMs = this.now();
    const { tasks, changed } = this.scheduler.scheduleMany(nowMs, withIds);
    // Free slots take new tasks at once, so a task and its assignment are saved in one
    // commit: one write and one fsync on the way from schedule to start, not two.
    const assigned = this.scheduler.assign(nowMs);
    this.logOutOfAttempts(assigned.changed);
    await this.save([...changed, ...assigned.changed]);
    for (const task of tasks) {
      this.log.info(
        { taskId: task.id, kind: task.kind, priority: task.priority, target: task.targetMemberId },
        'task scheduled',
      );
    }
    this.sendStarts(assigned.starts);
    return tasks;
  }

  /** CancelTask: a pending task is cancelled at once, a running one stopped on its worker. */
  async cancelTask(id: TaskId): Promise<TaskRecord> {
    this.assertRunning();
    const { task, changed, stop } = this.scheduler.cancel(this.now(), id);
    if (changed.length === 0) return task;
    await this.save(changed);
    this.log.info({ taskId: id, attempt: task.attempt, memberId: task.memberId }, 'task cancelled');
    if (stop) this.sendStop(stop);
    return task;
  }

  /** TaskComplete: records the end of an attempt; stale attempts are refused. */
  async completeTask(report: CompletionReport): Promise<TaskRecord> {
    let outcome: ReturnType<Scheduler['complete']>;
    const nowMs = this.now();
    try {
      outcome = this.scheduler.complete(nowMs, report);
    } finally {
      // A slot may have been freed even when nothing changed (a cancelled task's ack, or a
      // refused report of a timed-out attempt).
      this.schedulePump();
      this.memberChanged(report.memberId);
    }
    const { task, changed, stop } = outcome;
    if (report.memberId === undefined) this.memberChanged(task.memberId);
    if (changed.length === 0) return task;
    if (report.memberId !== undefined) {
      // A permanent error is about the task (bad input), not about the member that ran it.
      const failed = report.error !== undefined && report.permanent !== true;
      const change = this.membership.recordOutcome(this.now(), report.memberId, failed);
      if (change) this.applyQuarantine(change);
    }
    await this.save(changed);
    if (stop) this.sendStop(stop);
    this.log.info(
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
    const member = this.membership.get(memberId);
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
    return this.scheduleTask({
      payload: JSON.stringify({ command, args, ...(cwd === undefined ? {} : { cwd }) }),
      kind: 'command',
      targetMemberId: memberId,
    });
  }

  /** DeleteTask: forgets a finished task now; an open one must be cancelled first. */
  async deleteTask(id: TaskId): Promise<TaskRecord> {
    this.assertRunning();
    const task = this.scheduler.forget(id);
    await this.stored(this.deps.store.remove([task]));
    this.emitDeleted([task]);
    this.log.info({ taskId: id }, 'task deleted');
    return task;
  }

  /**
   * Watches tasks: the listener is registered before the snapshot is taken, in the same
   * turn, so no change falls between them. The snapshot is every task in creation order.
   */
  watchTasks(listener: (event: TaskEvent) => void): {
    snapshot: TaskRecord[];
    unsubscribe: () => void;
  } {
    this.assertRunning();
    const unsubscribe = this.events.onTask(listener);
    const snapshot: TaskRecord[] = [];
    let afterSeq: number | undefined;
    // Bounded: each page moves past the tasks it examined, and the list is finite.
    for (;;) {
      const page = this.scheduler.list({ pageSize: 10_000, afterSeq });
      snapshot.push(...page.tasks);
      if (page.nextAfterSeq === undefined) break;
      afterSeq = page.nextAfterSeq;
    }
    return { snapshot, unsubscribe };
  }

  /** Watches members: registered before the snapshot, as for tasks. */
  watchMembers(listener: (event: MemberEvent) => void): {
    snapshot: MemberView[];
    unsubscribe: () => void;
  } {
    this.assertRunning();
    const unsubscribe = this.events.onMember(listener);
    return { snapshot: this.members(), unsubscribe };
  }

  /**
   * Output a member sent for its attempts. Only the current attempt of a task that member
   * runs is kept: a stale attempt's output is dropped, as its report would be refused.
   */
  appendOutput(
    memberId: MemberId,
    chunks: readonly { taskId: TaskId; attempt: number; stream: string; data: string }[],
  ): void {
    const stored: StoredOutput[] = [];
    for (const { taskId, attempt, stream, data } of chunks) {
      let task: TaskRecord;
      try {
        task = this.scheduler.get(taskId);
      } catch {
        continue;
      }
      if (task.status !== 'running' || task.attempt !== attempt || task.memberId !== memberId) {
        continue;
      }
      for (const chunk of this.output.append(taskId, attempt, stream, data)) {
        this.events.emitOutput(taskId, { kind: 'chunk', chunk });
        stored.push({ taskSeq: task.seq, chunk });
      }
    }
    // Kept for after a restart. Followers are not held back by the commit: output is a
    // stream, not a promise, and a failed write stops the leader anyway.
    if (stored.length > 0) this.stored(this.deps.store.saveOutput(stored)).catch(() => {});
  }

  /**
   * A task's output from `offset`, and (with a listener) what comes after, until the task
   * finishes. `done` says the task is finished already: nothing more will come.
   */
  readOutput(
    taskId: TaskId,
    offset: number,
    listener?: (event: OutputEvent) => void,
  ): { chunks: OutputChunk[]; done: boolean; unsubscribe: () => void } {
    // A follow that starts during shutdown would miss the close notice: refuse it.
    if (listener) this.assertRunning();
    const task = this.scheduler.get(taskId);
    const done = isFinal(task.status);
    // Registered before reading, in the same turn: no chunk falls between the two.
    const unsubscribe = listener && !done ? this.events.onOutput(taskId, listener) : () => {};
    return { chunks: this.output.read(taskId, offset), done, unsubscribe };
  }

  /** True while the leader takes requests (started, not shutting down). */
  get ready(): boolean {
    return this.started && !this.stopping;
  }

  /** GetTask. */
  getTask(id: TaskId): TaskRecord {
    return this.scheduler.get(id);
  }

  /** GetTasks: one page in creation order. */
  listTasks(query: TaskQuery): TaskPage {
    return this.scheduler.list(query);
  }

  // ---- internals --------------------------------------------------------------------

  private apply(transition: Transition): void {
    const { memberId, from, to, reason } = transition;
    const member = this.membership.get(memberId);
    this.memberChanged(memberId);
    this.log.info({ memberId, from, to, reason }, `member ${to}`);
    switch (to) {
      case 'joining':
        this.scheduler.upsertWorker(memberId, member!.slots, member!.kinds);
        this.refreshEligibility(memberId);
        return;
      case 'alive':
      case 'suspect':
      case 'draining':
        this.refreshEligibility(memberId);
        return;
      case 'dead':
      case 'left': {
        const channel = this.channels.get(memberId);
        if (channel) {
          this.channels.delete(memberId);
          channel.channel.close(`member ${memberId} is ${to}: ${reason}`);
        }
        const { changed } = this.scheduler.removeWorker(
          memberId,
          `was ${to === 'dead' ? 'lost' : 'gone'} (${reason})`,
        );
        for (const task of changed) {
          this.log.warn({ memberId, taskId: task.id, attempt: task.attempt }, 'task requeued');
        }
        this.persistThen(changed, () => this.schedulePump());
        return;
      }
    }
  }

  /**
   * The one timer: moves silent members to suspect and dead, lifts quarantines, stops
   * attempts past their timeout, queues retries whose backoff is over, and prunes. Timeouts
   * and backoffs are therefore precise to one sweep interval (100 ms by default).
   */
  private sweep(): void {
    const nowMs = this.now();
    const { transitions, quarantines, forgotten } = this.membership.sweep(nowMs);
    for (const id of forgotten) this.memberChanged(id);
    for (const transition of transitions) this.apply(transition);
    for (const change of quarantines) this.applyQuarantine(change);
    this.expireAttempts(nowMs);
    const due = this.scheduler.promoteDue(nowMs);
    this.persistThen(due.changed, () => this.schedulePump());
    this.prune();
    if (this.reattachDeadlineMs !== undefined && nowMs >= this.reattachDeadlineMs) {
      this.reattachDeadlineMs = undefined;
      const { changed } = this.scheduler.requeueUnclaimed();
      for (const task of changed) {
        this.log.warn(
          { taskId: task.id, attempt: task.attempt, memberId: task.memberId },
          'task requeued: its worker did not come back after the restart',
        );
      }
      this.persistThen(changed, () => this.schedulePump());
    }
  }

  /** Stops attempts past their timeout; each counts as a failure of the member it ran on. */
  private expireAttempts(nowMs: number): void {
    const { changed, stops, failures } = this.scheduler.expire(nowMs);
    if (changed.length === 0) return;
    for (const { memberId, task } of failures) {
      this.memberChanged(memberId);
      this.log.warn(
        { taskId: task.id, memberId, status: task.status, error: task.error },
        task.status === 'error' ? 'task failed: timed out' : 'task timed out; retrying',
      );
      const change = this.membership.recordOutcome(nowMs, memberId, true);
      if (change) this.applyQuarantine(change);
    }
    this.persistThen(changed, () => {
      for (const stop of stops) this.sendStop(stop);
      this.schedulePump();
    });
  }

  private applyQuarantine(change: QuarantineChange): void {
    const { memberId, quarantined, reason } = change;
    this.memberChanged(memberId);
    if (quarantined) this.log.warn({ memberId, reason }, 'member quarantined');
    else this.log.info({ memberId, reason }, 'member quarantine lifted');
    this.refreshEligibility(memberId);
  }

  /** New work goes only to members that are alive and not quarantined. */
  private refreshEligibility(memberId: MemberId): void {
    const member = this.membership.get(memberId);
    const eligible = member !== undefined && memberTakesWork(member);
    this.scheduler.setEligible(memberId, eligible);
    if (eligible) this.schedulePump();
  }

  /** Drops finished tasks beyond the retention, a bounded number per sweep. */
  private prune(): void {
    const { finished, ageMs } = this.options.retention;
    const removed = this.scheduler.prune({
      keep: finished,
      finishedBeforeMs: this.now() - ageMs,
      limit: PRUNE_PER_SWEEP,
    });
    if (removed.length === 0) return;
    this.log.debug({ tasks: removed.length }, 'finished tasks pruned');
    // Nothing waits on a prune; a failure has already stopped the leader.
    this.stored(this.deps.store.remove(removed)).then(
      () => this.emitDeleted(removed),
      () => {},
    );
  }

  /** Coalesces assignment to once per event-loop turn, however many events asked for it. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.stopping) return;
    this.pumpScheduled = true;
    this.timers.defer(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { changed, starts } = this.scheduler.assign(this.now());
    this.logOutOfAttempts(changed);
    if (changed.length === 0) return;
    this.persistThen(changed, () => this.sendStarts(starts));
  }

  /** Logs tasks that assignment failed rather than started (out of attempts). */
  private logOutOfAttempts(changed: readonly TaskRecord[]): void {
    for (const task of changed) {
      if (task.status !== 'error') continue;
      this.log.warn(
        { taskId: task.id, attempt: task.attempt, error: task.error },
        'task failed: its member was lost on its last attempt',
      );
    }
  }

  /** Tells workers to start what was assigned to them (once it is saved). */
  private sendStarts(starts: readonly StartOrder[]): void {
    for (const start of starts) {
      const target = this.channels.get(start.memberId);
      // No channel: the member died after assignment, and its death requeued the task.
      if (!target) continue;
      this.log.info(
        { taskId: start.taskId, attempt: start.attempt, memberId: start.memberId },
        'task assigned',
      );
      target.channel.start(start);
      this.memberChanged(start.memberId);
    }
  }

  private sendStop(stop: StopOrder): void {
    this.log.info(
      { taskId: stop.taskId, attempt: stop.attempt, memberId: stop.memberId, reason: stop.reason },
      'task stop sent',
    );
    this.channels.get(stop.memberId)?.channel.stop(stop);
  }

  /** Saves, then acts: nothing reaches a worker before the change behind it is stored. */
  private persistThen(changed: readonly TaskRecord[], act: () => void): void {
    if (changed.length === 0) {
      act();
      return;
    }
    // A failure has already stopped the leader (see `stored`); nothing is acted on.
    this.save(changed).then(act, () => {});
  }

  /**
   * Saves task changes, then tells watchers (they only ever see saved states). A task that
   * is now finished has all its output: followers of it are ended.
   */
  private async save(changed: readonly TaskRecord[]): Promise<void> {
    // Watchers get each task as it was saved (copied now, once per task), not as it may
    // be by the time the commit lands.
    const saved = this.events.watchingTasks
      ? new Map(changed.map((task) => [task.id, { ...task }]))
      : undefined;
    await this.stored(this.deps.store.save(changed));
    for (const task of changed) {
      if (!isFinal(task.status)) continue;
      this.output.markFinished(task.id);
      this.events.emitOutput(task.id, { kind: 'end' });
    }
    if (!saved) return;
    for (const task of saved.values()) this.events.emitTask({ kind: 'changed', task });
  }

  private emitDeleted(tasks: readonly TaskRecord[]): void {
    for (const task of tasks) {
      this.output.forget(task.id);
      this.events.emitOutput(task.id, { kind: 'end' });
    }
    if (!this.events.watchingTasks) return;
    for (const task of tasks) this.events.emitTask({ kind: 'deleted', id: task.id });
  }

  /**
   * Notes that a member's view changed; watchers get each changed member once per
   * event-loop turn, however many things changed it.
   */
  private memberChanged(id: MemberId | undefined): void {
    if (id === undefined || !this.events.watchingMembers) return;
    this.dirtyMembers.add(id);
    if (this.memberFlushScheduled) return;
    this.memberFlushScheduled = true;
    this.timers.defer(() => {
      this.memberFlushScheduled = false;
      const ids = [...this.dirtyMembers];
      this.dirtyMembers.clear();
      const views = new Map(this.members().map((view) => [view.member.id, view]));
      for (const memberId of ids) {
        const view = views.get(memberId);
        this.events.emitMember(
          view ? { kind: 'changed', view } : { kind: 'removed', id: memberId },
        );
      }
    });
  }

  /**
   * Every store write goes through here. A store that cannot write makes every later
   * answer a lie: on failure the leader stops, and the caller's promise still rejects.
   */
  private async stored(write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (err) {
      this.shutdown('leader stopped after a store failure');
      this.deps.fail(err);
      // The caller learns what happened in words it can act on, not INTERNAL.
      throw isDiskFull(err)
        ? new StorageFullError(
            "the leader's disk is full: the change was not saved, and the leader has stopped",
          )
        : new UnavailableError(
            'the leader could not save the change (a store failure; see its log) and has stopped',
          );
    }
  }

  private assertRunning(): void {
    if (this.stopping) throw new UnavailableError('the leader is shutting down');
  }

  private now(): number {
    return this.deps.clock.nowMs();
  }
}

/** True for a write refused for want of space (SQLite's SQLITE_FULL, or ENOSPC from the OS). */
function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'SQLITE_FULL') return true;
  return /ENOSPC|disk is full|no space left/i.test(errorMessage(err));
}
