import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { defaultMemberId, randomIds } from '../shared/ids.js';
import { createLogger } from '../shared/logger.js';
import { channelCredentials } from '../shared/tls.js';
import type { ReconnectPolicy } from './backoff.js';
import { drainAndLeave } from './drain-and-leave.js';
import { LeaderLink } from './leader-link.js';
import { TaskRunner, type AttemptObserver, type TaskHandler } from './runner.js';
import { AttemptTracer } from './attempt-tracer.js';
import type { Tracer } from '@opentelemetry/api';
import { chosenTracer } from '../shared/tracing/chosen-tracer.js';
import { MAX_TIMER_MS } from '../shared/clock.js';

export type { AttemptObserver, TaskContext, TaskHandler, TaskResult } from './runner.js';
export { serveMetrics, WorkerMetrics } from './metrics.js';
export { startTracing, type Tracing } from '../shared/tracing/start-tracing.js';
export { PermanentTaskError, TaskError, TaskStoppedError } from './task-error.js';
export {
  LeaderUnreachableError,
  WorkerIdInUseError,
  WorkerRefusedError,
  WorkerTokenRefusedError,
} from './link-errors.js';

/** The kind a task gets when it names none; register a handler under it to take those. */
export const DEFAULT_KIND = 'default';

/** Options for {@link createWorker}. Only `handlers` is required. */
export interface WorkerOptions {
  /** Handlers by task kind. */
  readonly handlers: Readonly<Record<string, TaskHandler>>;
  /** Leader addresses, tried in turn. Default: 127.0.0.1:50051. */
  readonly leaders?: readonly string[];
  /** Member id. Default: host name plus a random suffix. */
  readonly id?: string;
  /** Address shown in Members (informational; workers need no listening port). */
  readonly address?: string;
  /** Tasks run at once. Default: 4. */
  readonly slots?: number;
  /** Channel credentials; default plaintext (loopback only, see the README on TLS). */
  readonly credentials?: ChannelCredentials;
  /** Join token (role worker) for a leader with tokens (issue #20), sent on every call. */
  readonly token?: string;
  readonly reconnect?: Partial<ReconnectPolicy>;
  /** On stop, how long running tasks get to finish before they are aborted. Default 30 s. */
  readonly drainTimeoutMs?: number;
  readonly logger?: Logger;
  /** Output characters one attempt sends to the leader (default 1 MiB); the rest is dropped. */
  readonly outputLimitChars?: number;
  /**
   * Most UTF-8 bytes of a task's result (default 1 MiB). A longer result fails the task at
   * once, with its head kept and marked as cut; keep it well below the leader's message
   * limit (4 MiB by default).
   */
  readonly resultLimitBytes?: number;
  /**
   * After a task is told to stop (cancel, timeout, a stop from the leader), how long its
   * handler may take to end before the worker reports it failed and frees its slot
   * (default 10 s). The handler's code may go on running: it should honour its signal.
   */
  readonly stopGraceMs?: number;
  /** Commands a `command` handler of this worker may run, shown to the leader. */
  readonly allowedCommands?: readonly string[];
  /**
   * How long after this process dies its attempts may still run (processes it started
   * and stops only after a grace): the leader starts them elsewhere no sooner after a loss.
   * Default 0: they end with the process.
   */
  readonly lossFenceMs?: number;
  /** Told when each attempt's handler starts and ends (a WorkerMetrics, say). */
  readonly observer?: AttemptObserver;
  /**
   * OpenTelemetry: a `drover.run` span per attempt, a child of the leader's assignment span,
   * with the handler running inside it (its own spans join the task's trace). Default: on
   * when this process registered a tracer provider before creating the worker (the Node
   * SDK started, or startTracing); a Tracer uses that one.
   */
  readonly tracing?: boolean | Tracer;
}

/** A running worker. */
export interface DroverWorker {
  readonly id: string;
  /** Resolves once the worker has joined the leader for the first time. */
  readonly joined: Promise<void>;
  /** Resolves when the worker has stopped; rejects if it gave up on the leader. */
  readonly done: Promise<void>;
  /**
   * Drains and leaves: takes no new work, lets running tasks finish (up to the drain
   * timeout, then aborts them and leaves so the leader requeues them as their next
   * attempt; the aborted attempt counts, so a task on its last one fails), then disconnects.
   */
  stop(): Promise<void>;
  /**
   * Tells the leader this worker is unfit for work (`healthy: false`, with why: a
   * dependency is down, a disk is full) or fit again. While it reports FAILED it gets no
   * new work (the leader lists it as quarantined); running tasks go on.
   */
  setHealth(healthy: boolean, reason?: string): void;
  /** Attempts whose handler is running now. */
  runningCount(): number;
}

const DEFAULT_RECONNECT: ReconnectPolicy = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  giveUpAfterMs: 5 * 60_000,
};

/**
 * Turns any code into a drover worker:
 *
 * ```ts
 * const worker = createWorker({
 *   handlers: { resize: async ({ payload, signal }) => resize(JSON.parse(payload), { signal }) },
 * });
 * await worker.joined;
 * ```
 */
export function createWorker(options: WorkerOptions): DroverWorker {
  const { handlers, slots } = checkOptions(options);
  const id = options.id ?? defaultMemberId();
  const logger = options.logger ?? createLogger({ level: 'info', format: 'json', name: 'worker' });
  const log = logger.child({ memberId: id });

  const session = new AbortController();
  // The runner reports through the link, which is built next (a closure, so no cycle).
  const runner = new TaskRunner({
    slots,
    handlers,
    report: (outcome) => link.report(outcome),
    began: (key, id, attempt) => link.began(key, id, attempt),
    logger: log,
    sink: (id, attempt, stream, data) => link.output(id, attempt, stream, data),
    outputLimitChars: options.outputLimitChars,
    resultLimitBytes: options.resultLimitBytes,
    stopGraceMs: options.stopGraceMs,
    observer: options.observer,
    tracer: tracerFor(options.tracing),
  });
  const link: LeaderLink = new LeaderLink({
    addresses: options.leaders ?? ['127.0.0.1:50051'],
    credentials: options.credentials ?? channelCredentials(undefined),
    token: options.token,
    identity: {
      id,
      address: options.address ?? '',
      instance: randomIds.token(),
      slots,
      kinds: runner.kinds,
      allowedCommands: options.allowedCommands,
      lossFenceMs: options.lossFenceMs,
    },
    runner,
    policy: { ...DEFAULT_RECONNECT, ...options.reconnect },
    logger: log,
  });
  const done = link.run(session.signal);
  // The link gave up (no leader, or this id taken): nothing running can be reported any
  // more, so stop it rather than let it hold the process open.
  done.catch(() => runner.abandonAll('worker gave up on the leader'));
  const joined = joinedOrStopped(link.joined, done);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= drainAndLeave(
      { link, runner, session, done, log },
      options.drainTimeoutMs,
      options.stopGraceMs,
    );
    return stopping;
  };

  const setHealth = (healthy: boolean, reason?: string): void => {
    log.info({ healthy, reason }, healthy ? 'worker healthy' : 'worker reports FAILED');
    link.setFailed(healthy ? undefined : (reason ?? 'unhealthy'));
  };

  return { id, joined, done, stop, setHealth, runningCount: () => runner.runningCount };
}

/** The handlers and slot count of valid options; throws on invalid ones. */
function checkOptions(options: WorkerOptions): {
  handlers: Map<string, TaskHandler>;
  slots: number;
} {
  const handlers = new Map(Object.entries(options.handlers));
  if (handlers.size === 0) throw new Error('createWorker needs at least one handler');
  if (options.leaders !== undefined && !options.leaders.some((a) => a.trim() !== ''))
    throw new Error('leaders must name at least one leader address (host:port)');
  const slots = options.slots ?? 4;
  if (!Number.isInteger(slots) || slots < 1)
    throw new Error(`slots must be a positive integer, got ${slots}`);
  // Checked here, by name: a value a timer or a limit cannot take (1.5, -1, NaN) otherwise
  // failed much later (a stop() that rejected, a worker that never left) or turned a limit
  // off without a word.
  for (const [name, value, min, max] of [
    ['resultLimitBytes', options.resultLimitBytes, 1, Number.MAX_SAFE_INTEGER],
    ['outputLimitChars', options.outputLimitChars, 1, Number.MAX_SAFE_INTEGER],
    ['stopGraceMs', options.stopGraceMs, 1, MAX_TIMER_MS],
    ['drainTimeoutMs', options.drainTimeoutMs, 0, MAX_TIMER_MS],
    // 0 would rejoin in a tight loop for as long as the leader is gone.
    ['reconnect.initialDelayMs', options.reconnect?.initialDelayMs, 1, MAX_TIMER_MS],
    ['reconnect.maxDelayMs', options.reconnect?.maxDelayMs, 1, MAX_TIMER_MS],
    ['reconnect.giveUpAfterMs', options.reconnect?.giveUpAfterMs, 1, Number.MAX_SAFE_INTEGER],
  ] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < min || value > max))
      throw new Error(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  const { initialDelayMs, maxDelayMs } = { ...DEFAULT_RECONNECT, ...options.reconnect };
  if (initialDelayMs > maxDelayMs) {
    throw new Error(
      `reconnect.initialDelayMs (${initialDelayMs}) must not be above reconnect.maxDelayMs (${maxDelayMs})`,
    );
  }
  return { handlers, slots };
}

/** Resolves on the first Join; rejects if the link stops first. */
function joinedOrStopped(joined: Promise<void>, done: Promise<void>): Promise<void> {
  // A worker that gives up before joining must not leave `joined` hanging forever.
  const first = Promise.race([
    joined,
    done.then(() => {
      throw new Error('worker stopped before it joined');
    }),
  ]);
  first.catch(() => {});
  return first;
}

function tracerFor(option: boolean | Tracer | undefined): AttemptTracer | undefined {
  const tracer = chosenTracer(option);
  return tracer && new AttemptTracer(tracer);
}
