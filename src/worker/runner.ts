import { attemptKey } from '../scheduler/task.js';
import { EventEmitter, once } from 'node:events';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import {
  DEFAULT_RESULT_LIMIT_BYTES,
  returnedOutcome,
  stoppedOutcome,
  thrownOutcome,
  unresponsiveOutcome,
  type AttemptOutcome,
  type OutcomeContext,
} from './outcome.js';
import { AttemptContext, type AttemptOutput } from './attempt-context.js';
import { RunningAttempt } from './running-attempt.js';
import { limitedOutput } from './output-limit.js';
import { callHandler, type Settled } from './stop-grace.js';
import { TaskStoppedError } from './task-error.js';
import { describeThrown } from './thrown-value.js';
import type { AttemptTracer } from './attempt-tracer.js';
import { systemTimers, type Timers } from './timers.js';
import { StartTimes } from './start-times.js';
import {
  DEFAULT_OUTPUT_LIMIT_CHARS,
  DEFAULT_STOP_GRACE_MS,
  type TaskHandler,
  type TaskResult,
  type StartWork,
  type ReportOutcome,
  type TaskRunnerOptions,
  type AttemptObserver,
} from './runner-types.js';

export type { AttemptOutcome } from './outcome.js';
export type {
  TaskContext,
  OutputSink,
  TaskHandler,
  TaskResult,
  StartWork,
  ReportOutcome,
  TaskRunnerOptions,
  AttemptObserver,
} from './runner-types.js';
export { DEFAULT_OUTPUT_LIMIT_CHARS, DEFAULT_STOP_GRACE_MS } from './runner-types.js';

/**
 * Runs up to `slots` attempts at once on a p-queue. Stopping an attempt aborts its
 * handler's signal. An attempt stays listed (and so re-attachable
 * after a reconnect) until its outcome has been reported or refused.
 */
export class TaskRunner {
  private readonly queue: PQueue;
  private readonly attempts = new Map<string, RunningAttempt>();
  private readonly log: Logger;
  /** Emits 'settled' each time an attempt has been reported and forgotten. */
  private readonly events = new EventEmitter();
  private readonly slots: number;
  private readonly handlers: ReadonlyMap<string, TaskHandler>;
  private readonly report: ReportOutcome;
  private readonly beganNotice: TaskRunnerOptions['began'];
  /** Sends output of a running attempt, up to the per-attempt limit, then one marker. */
  private readonly output: AttemptOutput;
  private readonly resultLimitBytes: number;
  private readonly stopGraceMs: number;
  private readonly timers: Timers;
  private readonly observer: AttemptObserver | undefined;
  private readonly tracer: AttemptTracer | undefined;
  /** Asked as a keyed attempt's handler is about to run: why it may not, if it may not. */
  private keyedGate: () => string | undefined = () => undefined;
  /** Timed starts waiting for their run time before they take a place in the queue. */
  private readonly startTimes: StartTimes;

  constructor(options: TaskRunnerOptions) {
    this.slots = options.slots;
    this.handlers = options.handlers;
    this.report = options.report;
    this.beganNotice = options.began;
    this.output = limitedOutput(
      options.sink ?? (() => {}),
      options.outputLimitChars ?? DEFAULT_OUTPUT_LIMIT_CHARS,
    );
    this.resultLimitBytes = options.resultLimitBytes ?? DEFAULT_RESULT_LIMIT_BYTES;
    this.stopGraceMs = options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS;
    this.timers = options.timers ?? systemTimers;
    this.observer = options.observer;
    this.tracer = options.tracer;
    this.queue = new PQueue({ concurrency: this.slots });
    this.startTimes = new StartTimes(this.timers, options.nowMs ?? (() => performance.now()));
    this.log = options.logger.child({ component: 'runner' });
  }

  /** Attempts whose handler has not ended yet (ended ones travel as reports). */
  get running(): { id: string; attempt: number }[] {
    const running: { id: string; attempt: number }[] = [];
    for (const { id, attempt, ended } of this.attempts.values()) {
      if (!ended) running.push({ id, attempt });
    }
    return running;
  }

  /** Attempts whose handler has begun and not ended (HeartbeatRequest.began). */
  get begun(): { id: string; attempt: number }[] {
    const begun: { id: string; attempt: number }[] = [];
    for (const { id, attempt, began, ended } of this.attempts.values()) {
      if (began && !ended) begun.push({ id, attempt });
    }
    return begun;
  }

  /** How many attempts have a handler running (without building the list). */
  get runningCount(): number {
    let count = 0;
    for (const attempt of this.attempts.values()) if (!attempt.ended) count++;
    return count;
  }

  /** Slots with no handler running. */
  get freeSlots(): number {
    return Math.max(0, this.slots - this.queue.pending - this.queue.size);
  }

  /** Kinds this runner has handlers for. */
  get kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Starts an attempt; a repeated start of the same attempt is ignored. With `stoppedFor`
   * (the leader's stop came in the same message) it starts already stopped: a handler that
   * would return at once is not run, and the attempt reports the stop.
   */
  start(work: StartWork, stoppedFor?: string): void {
    const key = attemptKey(work.id, work.attempt);
    if (this.attempts.has(key)) return;
    const attempt = new RunningAttempt(work.id, work.attempt, key);
    attempt.keyed = work.concurrencyKey !== undefined && work.concurrencyKey !== '';
    if (stoppedFor !== undefined) attempt.stop(new TaskStoppedError(stoppedFor));
    this.attempts.set(key, attempt);
    // run() never rejects (it logs its own faults), so add()'s promise needs no handler.
    // Higher priority first among what waits for a slot (p-queue is FIFO within one);
    // medium, nearly every task, passes no options object.
    const rank = work.priority === undefined ? 0 : PRIORITY_RANK[work.priority];
    const options = rank === undefined || rank === 0 ? undefined : { priority: rank };
    const enqueue = (): void => void this.queue.add(() => this.run(work, attempt), options);
    // A timed start is listed (re-attached, stoppable) from now, queued at its run time.
    const waitMs = work.startInMs ?? 0;
    attempt.timed = waitMs > 0;
    if (waitMs > 0 && !attempt.stopped) this.startTimes.wait(key, waitMs, enqueue);
    else enqueue();
  }

  /**
   * Aborts an attempt (attempt 0: every attempt of the task). One not begun yet (held for a
   * slot, or waiting for its run time) is handed back unstarted instead: reported as a
   * failed run, it would cost the task an attempt it never made.
   */
  stop(id: string, attempt: number, reason: string): void {
    for (const running of this.attempts.values()) {
      if (running.id === id && (attempt === 0 || running.attempt === attempt)) {
        if (this.handBack(running, `stopped before it began: ${reason}`)) continue;
        running.stop(new TaskStoppedError(reason));
        // Waiting for its start time: it goes now, to report the stop without running.
        this.startTimes.startNow(running.key);
      }
    }
  }

  /**
   * Sets the check a keyed attempt passes as its handler is about to run, not only when
   * its start order arrived: a task handed ahead (prefetch) waits here for a slot, maybe
   * while this process is frozen past its fence deadline, and must not start after it
   * (the leader may have given its key's place away). A refusal starts it stopped. Timed
   * starts pass it too: one that waited out its run time here while the leader could not
   * hear this worker may have been handed to another worker since (a lost worker's timed
   * starts wait for their run time again), and not starting it costs at most a retry.
   */
  gateKeyed(gate: () => string | undefined): void {
    this.keyedGate = gate;
  }

  /**
   * Stops every attempt with a concurrency key (the leader may have given their places
   * away: see key-fence.ts); returns how many were running. Reported as stopped, as for a
   * stop from the leader: a leader that still holds one refuses nothing and retries it.
   */
  fence(reason: string): number {
    let stopped = 0;
    for (const running of this.attempts.values()) {
      if (!running.keyed || running.ended || running.stopped) continue;
      running.stop(new TaskStoppedError(reason));
      stopped++;
    }
    return stopped;
  }

  /**
   * Aborts everything without reporting: the worker is leaving, and the leader puts the
   * attempts back in the queue, so a report of "aborted" would be wrong.
   */
  abandonAll(reason: string): void {
    for (const running of this.attempts.values()) {
      running.abandoned = true;
      running.stop(new TaskStoppedError(reason));
      this.startTimes.startNow(running.key);
    }
  }

  /**
   * Hands back every attempt held ahead whose run has not begun (waiting for a slot, or a
   * timed start waiting for its run time): each is reported as not started, so the leader
   * queues it again in its place without spending an attempt, and never runs here. For a
   * draining worker: what it holds goes to other workers now, not after what runs here.
   * Returns how many.
   */
  handBackUnstarted(reason: string): number {
    let count = 0;
    for (const attempt of this.attempts.values()) if (this.handBack(attempt, reason)) count++;
    return count;
  }

  /**
   * The leader would rather start this attempt elsewhere (see held-recall.ts): handed back
   * as {@link handBackUnstarted} does if its run has not begun; true if it was.
   */
  recall(id: string, attempt: number, reason: string): boolean {
    const held = this.attempts.get(attemptKey(id, attempt));
    return held !== undefined && this.handBack(held, reason);
  }

  private handBack(attempt: RunningAttempt, reason: string): boolean {
    if (attempt.began || attempt.ended || attempt.stopped) return false;
    attempt.handedBack = true;
    attempt.ended = true;
    // Out of its wait for the run time: through the queue it meets the handedBack check.
    this.startTimes.startNow(attempt.key);
    const { id, attempt: number } = attempt;
    const error = `not started: ${reason}`;
    void this.report({ id, attempt: number, error, notStarted: true }).then(
      () => this.forget(attempt),
      () => this.forget(attempt),
    );
    return true;
  }

  /** Resolves once no attempt is running or waiting to be reported; rejects on abort. */
  async idle(signal: AbortSignal): Promise<void> {
    while (this.attempts.size > 0) {
      await once(this.events, 'settled', { signal });
    }
  }

  /**
   * Runs one attempt in its slot: at once to the end for a handler that returns (or
   * throws) synchronously, else once its promise settles. Never rejects: a fault in here
   * is logged, not left to kill the worker with all its tasks.
   */
  private run(work: StartWork, attempt: RunningAttempt): Promise<void> {
    // Handed back while it waited for this slot: the leader has it again.
    if (attempt.handedBack) return DONE;
    attempt.began = true;
    this.beganNotice?.(attempt.key, work.id, work.attempt);
    const context = new AttemptContext(work, attempt, this.log, this.output);
    // A task's start and ordinary end are logged at debug (per task: at info they cost more
    // CPU than the task's bookkeeping); a failure at info.
    const logsTasks = this.log.isLevelEnabled('debug');
    const startedAtMs = performance.now();
    try {
      if ((attempt.keyed || attempt.timed) && !attempt.stopped) {
        const fenced = this.keyedGate();
        if (fenced !== undefined) attempt.stop(new TaskStoppedError(fenced));
      }
      const early = this.refusal(work, attempt);
      if (early) {
        this.finish(context, attempt, early, startedAtMs, logsTasks);
        return DONE;
      }
      if (logsTasks) context.log().debug('task started');
      this.observer?.started(work.kind);
      const handler = this.handlers.get(work.kind)!;
      const span = (attempt.span = this.tracer?.begin(work));
      const call = () => callHandler(handler, context, attempt, this.stopGraceMs, this.timers);
      const settled = span ? span.run(call) : call();
      if (!(settled instanceof Promise)) {
        this.finish(
          context,
          attempt,
          this.outcome(context, attempt, settled),
          startedAtMs,
          logsTasks,
        );
        return DONE;
      }
      return settled
        .then((late) =>
          this.finish(
            context,
            attempt,
            this.outcome(context, attempt, late),
            startedAtMs,
            logsTasks,
          ),
        )
        .catch((err: unknown) => this.runnerFailed(work, err));
    } catch (err) {
      this.runnerFailed(work, err);
      return DONE;
    }
  }

  private runnerFailed(work: StartWork, err: unknown): void {
    this.log.error({ taskId: work.id, err: describeThrown(err) }, 'runner failed');
  }

  /** The outcome of an attempt that must not run: stopped before it started, or no handler. */
  private refusal(work: StartWork, attempt: RunningAttempt): AttemptOutcome | undefined {
    if (attempt.stopped) return stoppedOutcome(this.outcomeContext(work), attempt.reason);
    if (this.handlers.has(work.kind)) return undefined;
    return {
      id: work.id,
      attempt: work.attempt,
      error: `no handler for task kind "${work.kind}" on this worker`,
      permanent: true,
    };
  }

  /** Logs the end, then reports the outcome (unless the attempt was given back). */
  private finish(
    context: AttemptContext,
    attempt: RunningAttempt,
    outcome: AttemptOutcome,
    startedAtMs: number,
    logsTasks: boolean,
  ): void {
    const failed = outcome.error !== undefined;
    if (failed ? this.log.isLevelEnabled('info') : logsTasks) {
      const fields = { durationMs: Math.round(performance.now() - startedAtMs) };
      if (failed) context.log().info({ ...fields, error: outcome.error }, 'task failed');
      else context.log().debug(fields, 'task finished');
    }
    if (this.observer) {
      const how =
        outcome.error === undefined ? 'completed' : attempt.stopped ? 'stopped' : 'failed';
      this.observer.ended(context.kind, how, performance.now() - startedAtMs);
    }
    attempt.span?.end(outcome.error);
    attempt.ended = true;
    if (attempt.abandoned) {
      this.forget(attempt);
      return;
    }
    // Reporting happens outside the slot: the next task may start while this one reports.
    void this.report(outcome).then(
      () => this.forget(attempt),
      () => this.forget(attempt),
    );
  }

  private forget(attempt: RunningAttempt): void {
    this.attempts.delete(attempt.key);
    this.events.emit('settled');
  }

  /** However the handler ended, as a bounded outcome. */
  private outcome(
    context: AttemptContext,
    attempt: RunningAttempt,
    settled: Settled<TaskResult>,
  ): AttemptOutcome {
    const ctx = this.outcomeContext(context);
    const stopReason: unknown = attempt.stopped ? attempt.reason : undefined;
    switch (settled.kind) {
      case 'returned':
        // Returned after a stop: the stop wins (the leader has moved on from this attempt).
        return attempt.stopped
          ? stoppedOutcome(ctx, stopReason)
          : returnedOutcome(ctx, settled.value);
      case 'threw':
        return thrownOutcome(ctx, settled.error, stopReason);
      case 'unresponsive':
        context
          .log()
          .error(
            { stopGraceMs: this.stopGraceMs },
            'handler did not stop in time; slot freed, its code may still run',
          );
        return unresponsiveOutcome(ctx, stopReason, this.stopGraceMs);
    }
  }

  private outcomeContext(work: { id: string; attempt: number }): OutcomeContext {
    return { id: work.id, attempt: work.attempt, resultLimitBytes: this.resultLimitBytes };
  }
}

/** p-queue priorities by the wire's (1 low, 2 medium, 3 high; 0: medium): higher first. */
const PRIORITY_RANK: readonly number[] = [0, -1, 0, 1];

/** What run() returns for an attempt that ended synchronously: one promise, shared. */
const DONE: Promise<void> = Promise.resolve();
