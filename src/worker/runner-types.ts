import type { Logger } from 'pino';
import type { AttemptTracer } from './attempt-tracer.js';
import type { AttemptOutcome } from './outcome.js';
import type { Timers } from './timers.js';

// The runner's public shapes: what a handler gets and returns, what a start carries, and
// the runner's settings. Apart from runner.ts, which holds how attempts run; it re-exports
// them, so importers of runner.js see no change.

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

/** How long a stopped handler gets to end before the worker gives up on it, by default. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** User code for one task kind; what it returns is the task's result (see TaskResult). */
export type TaskHandler = (task: TaskContext) => TaskResult | Promise<TaskResult>;

/**
 * What a handler returns: a string is the task's result as it is; undefined or null (or
 * nothing), no result; any other value (an object, a number) is kept as its JSON. A value
 * with no JSON (a BigInt, a cycle) fails the attempt, saying so.
 */
export type TaskResult = string | number | boolean | object | null | undefined | void;

/** A start order as the runner takes it. */
export interface StartWork {
  readonly id: string;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
  /** The task's concurrency key ('' or absent: none); keyed attempts are fenced. */
  readonly concurrencyKey?: string;
  /** The leader's assignment span (W3C trace context); the run span joins it. */
  readonly traceContext?: Readonly<Record<string, string>>;
  /** A timed start: wait this many ms, then start (its run time); 0 or absent: at once. */
  readonly startInMs?: number;
  /** 1 low, 2 medium, 3 high (0 or absent: medium): which held task starts first. */
  readonly priority?: number;
}

/** The runner's way to hand a finished attempt to whoever reports it. */
export type ReportOutcome = (outcome: AttemptOutcome) => Promise<void>;

/** What a {@link TaskRunner} is built from; the limits have defaults. */
export interface TaskRunnerOptions {
  readonly slots: number;
  readonly handlers: ReadonlyMap<string, TaskHandler>;
  readonly report: ReportOutcome;
  /**
   * Told as an attempt's handler begins (`key`: its attemptKey), before it runs: the
   * leader counts a lost worker's attempt as spent only if it heard it begin.
   */
  readonly began?: ((key: string, id: string, attempt: number) => void) | undefined;
  readonly logger: Logger;
  readonly sink?: OutputSink;
  /** Output characters one attempt sends (default {@link DEFAULT_OUTPUT_LIMIT_CHARS}). */
  readonly outputLimitChars?: number;
  /** UTF-8 bytes of a result (default {@link DEFAULT_RESULT_LIMIT_BYTES}). */
  readonly resultLimitBytes?: number;
  /** After a stop, how long a handler may take to end (default {@link DEFAULT_STOP_GRACE_MS}). */
  readonly stopGraceMs?: number;
  readonly timers?: Timers;
  /** A monotonic clock read beside `timers`, for timed starts; performance.now if absent. */
  readonly nowMs?: () => number;
  /** Told when an attempt's handler starts and ends (the worker's metrics). */
  readonly observer?: AttemptObserver | undefined;
  /** Opens a span per attempt the handler runs in (OpenTelemetry); none if unset. */
  readonly tracer?: AttemptTracer | undefined;
}

/** What a runner tells about each attempt it runs (see WorkerMetrics). */
export interface AttemptObserver {
  started(kind: string): void;
  /** `outcome`: completed (it returned), failed (it threw, or was refused) or stopped. */
  ended(kind: string, outcome: 'completed' | 'failed' | 'stopped', ms: number): void;
}
