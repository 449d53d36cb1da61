import type { Logger } from 'pino';
import type { RunningAttempt } from './running-attempt.js';
import type { StartWork, TaskContext } from './runner.js';

/** Where a running attempt's output goes through its runner (bounded there). */
export type AttemptOutput = (attempt: RunningAttempt, stream: string, text: string) => void;

/**
 * The TaskContext a handler gets. A class, not an object literal with getters and
 * closures: profiling a worker under load showed the literal at ~2 KB of allocation per
 * task, most of the worker's garbage. Its logger (a child of the runner's, with the task's
 * id) is made only when something logs through it; `write` is bound on first read, so a
 * handler may still destructure it (`({ write }) => write('x')`).
 */
export class AttemptContext implements TaskContext {
  readonly id: string;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
  private taskLog: Logger | undefined;
  private handlerLog: Logger | undefined;
  private boundWrite: TaskContext['write'] | undefined;

  constructor(
    work: StartWork,
    private readonly running: RunningAttempt,
    private readonly runnerLog: Logger,
    private readonly output: AttemptOutput,
  ) {
    this.id = work.id;
    this.attempt = work.attempt;
    this.kind = work.kind;
    this.payload = work.payload;
  }

  get signal(): AbortSignal {
    return this.running.signal;
  }

  get logger(): Logger {
    return (this.handlerLog ??= mirrorToOutput(this.log(), (line) =>
      this.output(this.running, 'log', line),
    ));
  }

  get write(): TaskContext['write'] {
    return (this.boundWrite ??= (text, stream = 'stdout') =>
      this.output(this.running, stream, text));
  }

  /** The runner's log for this attempt (not mirrored into its output). */
  log(): Logger {
    return (this.taskLog ??= this.runnerLog.child({
      taskId: this.id,
      attempt: this.attempt,
      kind: this.kind,
    }));
  }
}

/** Levels whose calls a task's logger mirrors into its output. */
const LOG_LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

/**
 * Wraps a logger so each line it actually logs (at an enabled level) is also written as a
 * plain line: `INFO message {"field":1}`. A Proxy keeps the whole pino API (child,
 * isLevelEnabled, ...) unchanged for the handler.
 */
export function mirrorToOutput(logger: Logger, writeLine: (line: string) => void): Logger {
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
  const message = (fields ? rest : args)
    .map((a) => (typeof a === 'string' ? a : describeValue(a)))
    .join(' ');
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

/** A log argument as text; a log call never fails a task, even for Object.create(null). */
function describeValue(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable value]';
  }
}
