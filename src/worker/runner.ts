import { EventEmitter, once } from 'node:events';
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { errorMessage } from '../shared/errors.js';
import { PermanentTaskError, TaskError, TaskStoppedError } from './task-error.js';

/** What a handler gets: the task, and a signal that fires when it must stop. */
export interface TaskContext {
  readonly id: string;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
  /** Fires on cancel, on a stop from the leader, or when the worker shuts down. */
  readonly signal: AbortSignal;
  /**
   * A child logger with the task's id and attempt. What it logs also goes to the task's
   * output (stream `log`), readable with `drover logs ID` while the task runs and after.
   */
  readonly logger: Logger;
  /** Appends text to the task's output (stream `stdout` unless named). */
  write(text: string, stream?: 'stdout' | 'stderr'): void;
}

/** Where a running attempt's output goes: the leader link, in practice. */
export type OutputSink = (id: string, attempt: number, stream: string, data: string) => void;

/** Most output characters one attempt sends to the leader; the rest is dropped. */
export const DEFAULT_OUTPUT_LIMIT_CHARS = 1024 * 1024;

/** User code for one task kind; its return value (if a string) is the task's result. */
export type TaskHandler = (task: TaskContext) => Promise<string | void> | string | void;

/** How an attempt ended, to be reported to the leader. */
export interface AttemptOutcome {
  readonly id: string;
  readonly attempt: number;
  readonly result?: string | undefined;
  readonly error?: string | undefined;
  /** The handler said another attempt cannot help (it threw a PermanentTaskError). */
  readonly permanent?: boolean | undefined;
}

/** A start order as the runner takes it. */
export interface StartWork {
  readonly id: string;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
}

interface Attempt {
  readonly id: string;
  readonly attempt: number;
  readonly controller: AbortController;
  /** Set when the worker gives the attempt back to the leader instead of reporting it. */
  abandoned: boolean;
  /** Set when the handler has ended; the attempt stays known until its report is settled. */
  ended: boolean;
  /** Output characters sent so far; past the limit, output is dropped after a marker. */
  outputChars: number;
}

/** The runner's way to hand a finished attempt to whoever reports it. */
export type ReportOutcome = (outcome: AttemptOutcome) => Promise<void>;

/**
 * Runs up to `slots` attempts at once on a p-queue. Each attempt owns an AbortController;
 * stopping it aborts the handler's signal. An attempt stays listed (and so re-attachable
 * after a reconnect) until its outcome has been reported or refused.
 */
export class TaskRunner {
  private readonly queue: PQueue;
  private readonly attempts = new Map<string, Attempt>();
  private readonly log: Logger;
  /** Emits 'settled' each time an attempt has been reported and forgotten. */
  private readonly events = new EventEmitter();

  constructor(
    private readonly slots: number,
    private readonly handlers: ReadonlyMap<string, TaskHandler>,
    private readonly report: ReportOutcome,
    logger: Logger,
    private readonly sink: OutputSink = () => {},
    private readonly outputLimitChars = DEFAULT_OUTPUT_LIMIT_CHARS,
  ) {
    this.queue = new PQueue({ concurrency: slots });
    this.log = logger.child({ component: 'runner' });
  }

  /** Attempts whose handler has not ended yet (ended ones travel as reports). */
  get running(): { id: string; attempt: number }[] {
    const running: { id: string; attempt: number }[] = [];
    for (const { id, attempt, ended } of this.attempts.values()) {
      if (!ended) running.push({ id, attempt });
    }
    return running;
  }

  /** Slots with no handler running. */
  get freeSlots(): number {
    return Math.max(0, this.slots - this.queue.pending - this.queue.size);
  }

  /** Kinds this runner has handlers for. */
  get kinds(): string[] {
    return [...this.handlers.keys()];
  }

  /** Starts an attempt; a repeated start of the same attempt is ignored. */
  start(work: StartWork): void {
    const key = attemptKey(work.id, work.attempt);
    if (this.attempts.has(key)) return;
    const attempt: Attempt = {
      id: work.id,
      attempt: work.attempt,
      controller: new AbortController(),
      abandoned: false,
      ended: false,
      outputChars: 0,
    };
    this.attempts.set(key, attempt);
    void this.queue.add(() => this.run(work, attempt));
  }

  /** Aborts an attempt (attempt 0: every attempt of the task). */
  stop(id: string, attempt: number, reason: string): void {
    for (const running of this.attempts.values()) {
      if (running.id === id && (attempt === 0 || running.attempt === attempt)) {
        running.controller.abort(new TaskStoppedError(reason));
      }
    }
  }

  /**
   * Aborts everything without reporting: the worker is leaving, and the leader puts the
   * attempts back in the queue, so a report of "aborted" would be wrong.
   */
  abandonAll(reason: string): void {
    for (const running of this.attempts.values()) {
      running.abandoned = true;
      running.controller.abort(new TaskStoppedError(reason));
    }
  }

  /** Resolves once no attempt is running or waiting to be reported; rejects on abort. */
  async idle(signal: AbortSignal): Promise<void> {
    while (this.attempts.size > 0) {
      await once(this.events, 'settled', { signal });
    }
  }

  /** Sends output of a running attempt, up to the per-attempt limit, then one marker. */
  private writeOutput(attempt: Attempt, stream: string, text: string): void {
    if (attempt.ended || text.length === 0 || attempt.outputChars > this.outputLimitChars) return;
    const room = this.outputLimitChars - attempt.outputChars;
    if (text.length <= room) {
      attempt.outputChars += text.length;
      this.sink(attempt.id, attempt.attempt, stream, text);
      return;
    }
    attempt.outputChars = this.outputLimitChars + 1;
    if (room > 0) this.sink(attempt.id, attempt.attempt, stream, text.slice(0, room));
    this.sink(
      attempt.id,
      attempt.attempt,
      'log',
      `\n[output truncated on the worker at ${this.outputLimitChars} characters]\n`,
    );
  }

  private async run(work: StartWork, attempt: Attempt): Promise<void> {
    // The task's child logger is made only if something logs through it: building one
    // serialises its bindings, which profiling showed as a real per-task cost under load.
    let taskLog: Logger | undefined;
    const log = (): Logger =>
      (taskLog ??= this.log.child({ taskId: work.id, attempt: work.attempt, kind: work.kind }));
    let handlerLog: Logger | undefined;
    const write = (text: string, stream: string): void => this.writeOutput(attempt, stream, text);
    const logsInfo = this.log.isLevelEnabled('info');
    const handler = this.handlers.get(work.kind);
    let outcome: AttemptOutcome;
    const startedAt = performance.now();
    if (attempt.controller.signal.aborted) {
      outcome = {
        id: work.id,
        attempt: work.attempt,
        error: errorMessage(attempt.controller.signal.reason),
      };
    } else if (!handler) {
      outcome = {
        id: work.id,
        attempt: work.attempt,
        error: `no handler for task kind "${work.kind}" on this worker`,
        permanent: true,
      };
    } else {
      if (logsInfo) log().info('task started');
      try {
        const result = await handler({
          id: work.id,
          attempt: work.attempt,
          kind: work.kind,
          payload: work.payload,
          signal: attempt.controller.signal,
          get logger() {
            return (handlerLog ??= mirrorToOutput(log(), (line) => write(line, 'log')));
          },
          write: (text, stream = 'stdout') => write(text, stream),
        });
        attempt.controller.signal.throwIfAborted();
        outcome = {
          id: work.id,
          attempt: work.attempt,
          result: typeof result === 'string' ? result : undefined,
        };
      } catch (err) {
        const message = attempt.controller.signal.aborted
          ? errorMessage(attempt.controller.signal.reason)
          : errorMessage(err);
        outcome = {
          id: work.id,
          attempt: work.attempt,
          error: message,
          result: err instanceof TaskError ? err.output : undefined,
          permanent: !attempt.controller.signal.aborted && err instanceof PermanentTaskError,
        };
      }
    }
    if (logsInfo) {
      log().info(
        { durationMs: Math.round(performance.now() - startedAt), error: outcome.error },
        outcome.error === undefined ? 'task finished' : 'task failed',
      );
    }
    const key = attemptKey(work.id, work.attempt);
    attempt.ended = true;
    if (attempt.abandoned) {
      this.attempts.delete(key);
      this.events.emit('settled');
      return;
    }
    // Reporting happens outside the slot: the next task may start while this one reports.
    void this.report(outcome).finally(() => {
      this.attempts.delete(key);
      this.events.emit('settled');
    });
  }
}

/** Levels whose calls a task's logger mirrors into its output. */
const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * Wraps a logger so each line it actually logs (at an enabled level) is also written as a
 * plain line: `INFO message {"field":1}`. A Proxy keeps the whole pino API (child,
 * isLevelEnabled, ...) unchanged for the handler.
 */
function mirrorToOutput(logger: Logger, writeLine: (line: string) => void): Logger {
  return new Proxy(logger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (
        typeof property !== 'string' ||
        !LOG_LEVELS.has(property) ||
        typeof value !== 'function'
      ) {
        return value;
      }
      return (...args: unknown[]) => {
        (value as (...a: unknown[]) => void).apply(target, args);
        if (target.isLevelEnabled(property)) writeLine(formatLogLine(property, args));
      };
    },
  });
}

function formatLogLine(level: string, args: readonly unknown[]): string {
  const [first, ...rest] = args;
  const fields = typeof first === 'object' && first !== null ? first : undefined;
  const message = (fields ? rest : args).map((a) => String(a)).join(' ');
  let extra = '';
  if (fields) {
    try {
      extra = ` ${JSON.stringify(fields instanceof Error ? { err: fields.message } : fields)}`;
    } catch {
      // BigInt or a cycle: pino copes, and so must the mirror (a log call never fails a task).
      extra = ' [fields not serialisable]';
    }
  }
  return `${level.toUpperCase()} ${message}${extra}\n`;
}

function attemptKey(id: string, attempt: number): string {
  return `${id}#${attempt}`;
}
