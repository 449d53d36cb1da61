import type { Logger } from 'pino';
import type { RunningAttempt } from './running-attempt.js';
import type { StartWork, TaskContext } from './runner.js';

/** Where a running attempt's output goes through its runner (bounded there). */
export type AttemptOutput = (attempt: RunningAttempt, stream: string, text: string) => void;

/** The accessors every AttemptContext gets as its own (one set of getters for all). */
let OWN_ACCESSORS: PropertyDescriptorMap;

/**
 * The TaskContext a handler gets. A class, not an object literal with getters and
 * closures: profiling a worker under load showed the literal at ~2 KB of allocation per
 * task, most of the worker's garbage. Its logger (a child of the runner's, with the task's
 * id) is made only when something logs through it; `write` is bound on first read, so a
 * handler may still destructure it (`({ write }) => write('x')`).
 *
 * It looks like the literal it replaced: `signal`, `logger` and `write` are own,
 * enumerable accessors (shared getters, defined per instance), so `{ ...ctx, payload }` or
 * `Object.keys(ctx)` see the same seven fields as before, and the internals are `#private`.
 */
export class AttemptContext implements TaskContext {
  readonly id: string;
  readonly attempt: number;
  readonly kind: string;
  readonly payload: string;
  declare readonly signal: AbortSignal;
  declare readonly logger: Logger;
  declare readonly write: TaskContext['write'];
  readonly #running: RunningAttempt;
  readonly #runnerLog: Logger;
  readonly #output: AttemptOutput;
  #taskLog: Logger | undefined;
  #handlerLog: Logger | undefined;
  #boundWrite: TaskContext['write'] | undefined;

  constructor(work: StartWork, running: RunningAttempt, runnerLog: Logger, output: AttemptOutput) {
    this.id = work.id;
    this.attempt = work.attempt;
    this.kind = work.kind;
    this.payload = work.payload;
    this.#running = running;
    this.#runnerLog = runnerLog;
    this.#output = output;
    Object.defineProperties(this, OWN_ACCESSORS);
  }

  /** The runner's log for this attempt (not mirrored into its output). */
  log(): Logger {
    return (this.#taskLog ??= this.#runnerLog.child({
      taskId: this.id,
      attempt: this.attempt,
      kind: this.kind,
    }));
  }

  static {
    OWN_ACCESSORS = {
      signal: {
        enumerable: true,
        get(this: AttemptContext): AbortSignal {
          return this.#running.signal;
        },
      },
      logger: {
        enumerable: true,
        get(this: AttemptContext): Logger {
          return (this.#handlerLog ??= mirrorToOutput(this.log(), (line) =>
            this.#output(this.#running, 'log', line),
          ));
        },
      },
      write: {
        enumerable: true,
        get(this: AttemptContext): TaskContext['write'] {
          return (this.#boundWrite ??= (text, stream = 'stdout') =>
            this.#output(this.#running, stream, text));
        },
      },
    };
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
