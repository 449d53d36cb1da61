import {
  credentials as grpcCredentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ClientDuplexStream,
  type Interceptor,
} from '@grpc/grpc-js';
import {
  SchedulerServiceClient,
  type ScheduleTaskStreamRequest,
  type ScheduleTaskStreamResponse,
  type Task,
} from '../gen/scheduler/v1/scheduler.js';
import { leaderHint } from '../shared/leader-hint.js';
import { brokeBecause, type SettingNames } from '../shared/connection-details.js';
import { FollowedConnection, leaderList } from './leader-rotation.js';
import { taskDraft } from './task-draft.js';
import { ScheduleTracer, type ScheduleSpan } from './schedule-tracer.js';
import { taskProblem } from './task-check.js';
import type { Tracer } from '@opentelemetry/api';
import { bearerInterceptor } from '../shared/bearer-token.js';
import { chosenTracer } from '../shared/tracing/chosen-tracer.js';
import { batcherFor, type RequestBatcher } from './request-batcher.js';
import { SilenceWatch } from './silence-watch.js';
import { resultOf } from './task-failed.js';
import { followingLink, WAIT_KEEPALIVE, waitForTaskEnd, type WaitOptions } from './task-waiter.js';
import { cancelTask, type CancelOutcome } from './task-cancel.js';
import { MAX_TIMER_MS } from '../shared/clock.js';

export { TaskFailedError } from './task-failed.js';
export { TaskWaitError, type WaitOptions } from './task-waiter.js';
export type { CancelOutcome } from './task-cancel.js';
// What errors and results carry: the task as the leader sends it, its status, and the gRPC
// status codes of ScheduleError.code and TaskWaitError.code (grpc-js's own enum).
export { TaskStatus, type Task } from '../gen/scheduler/v1/scheduler.js';
export { status as GrpcStatus } from '@grpc/grpc-js';

/** Options of {@link createProducer}. */
export interface ProducerOptions {
  /**
   * Leader address, host:port; or several leaders (an array, or a comma list as
   * DROVER_LEADER takes) for a highly available cluster. The producer uses one at a time;
   * when its stream fails with UNAVAILABLE (a standby's refusal, a leader that cannot be
   * reached) it moves, for the next schedule, to the leader the refusal named, else to the
   * next one in the list.
   */
  readonly leader: string | readonly string[];
  /** Channel credentials; default plaintext (loopback only, see the README on TLS). */
  readonly credentials?: ChannelCredentials;
  /** An API token (role write or admin) for a leader with tokens (issue #20). */
  readonly token?: string;
  /**
   * OpenTelemetry: a `drover.schedule` span per task, a child of the span active at the
   * call, whose context the task carries to the leader and its worker. Default: on when
   * this process registered a tracer provider before creating the producer; a Tracer uses
   * that one.
   */
  readonly tracing?: boolean | Tracer;
  /**
   * How long a schedule waits for the leader's answer, in ms (default 10,000). A leader
   * that says nothing for that long (frozen, cut off with its connection still open) is
   * given up: every schedule it owes rejects with UNAVAILABLE, and the next one goes to the
   * next leader, as after a refusal.
   */
  readonly answerTimeoutMs?: number;
}

/** The producer's options, as hints name what to check. */
const PRODUCER_SETTINGS: SettingNames = {
  leader: "check createProducer's leader",
  tls: 'its credentials',
  ca: 'the CA in its credentials',
  cert: 'a client certificate in its credentials',
};

/** The default of {@link ProducerOptions.answerTimeoutMs}. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 10_000;

/**
 * The answer timeout, checked: 0 or less failed every schedule as unanswered, and NaN
 * turned the watch for a silent leader off without a word.
 */
function answerTimeout(options: ProducerOptions): number {
  const ms = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TIMER_MS) {
    throw new Error(`answerTimeoutMs must be an integer from 1 to ${MAX_TIMER_MS}, got ${ms}`);
  }
  return ms;
}

/**
 * A task to schedule: a payload, and optionally the fields ScheduleTask takes (the same
 * as the CLI's and the HTTP API's: id, kind, priority, target member, attempts, retry
 * backoff, timeout, a run time for a delayed task, `runAt` or `delayMs`, an idempotency
 * key and a concurrency key; unset ones take the leader's defaults).
 */
export type TaskToSchedule = Partial<
  Pick<
    Task,
    | 'id'
    | 'kind'
    | 'priority'
    | 'targetMemberId'
    | 'maxAttempts'
    | 'retryBackoffMs'
    | 'timeoutMs'
    | 'runAt'
    | 'delayMs'
    | 'idempotencyKey'
    | 'idempotencyTtlMs'
    | 'concurrencyKey'
  >
> & {
  readonly payload: string;
};

/** Priorities for {@link TaskToSchedule.priority} (HIGH, MEDIUM, LOW). */
export { TaskPriority } from '../gen/scheduler/v1/scheduler.js';
export { startTracing, type Tracing } from '../shared/tracing/start-tracing.js';

/** A refusal or a failure, with the gRPC status code the leader (or the link) gave. */
export class ScheduleError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ScheduleError';
  }
}

/** Schedules tasks one at a time, each answered once it is saved on the leader. */
export interface Producer {
  /**
   * Schedules one task; resolves with its id once the leader has saved it. Rejects with a
   * {@link ScheduleError}: the leader's refusal (INVALID_ARGUMENT, ALREADY_EXISTS, ...), or
   * UNAVAILABLE if the link broke before the answer came, in which case the task may or may
   * not have been scheduled: give tasks your own ids to retry safely (ALREADY_EXISTS then
   * means it was). A retry goes to the active leader when a standby's refusal named it.
   */
  schedule(task: TaskToSchedule): Promise<string>;
  /**
   * Schedules one task as {@link schedule} does, and also says whether its idempotency key
   * was held (`existing`: the id is the task holding it, and nothing was scheduled).
   */
  submit(task: TaskToSchedule): Promise<{ id: string; existing: boolean }>;
  /**
   * Waits for the task `id` to end, however long that takes and across a failover of the
   * leader (see {@link waitForTaskEnd}); resolves with its result when it completed.
   * Rejects with a {@link TaskFailedError} when it failed for good or was cancelled (the
   * task as it ended is on the error), or a {@link TaskWaitError}: NOT_FOUND for no such
   * task, UNAVAILABLE when no leader served the wait for `unservedMs` (30 s by default).
   * `signal` stops the wait.
   */
  result(id: string, options?: WaitOptions): Promise<string>;
  /**
   * Cancels the task `id`: a pending one at once, a running one stopped on its worker
   * (CancelTask; see {@link cancelTask} for how it follows the leader). Resolves with what
   * it did; a task cancelled before resolves too (`alreadyCancelled`). Rejects with a
   * {@link ScheduleError}: NOT_FOUND, FAILED_PRECONDITION for a task that has ended,
   * UNAVAILABLE when no leader took it.
   */
  cancel(id: string): Promise<CancelOutcome>;
  /** Waits for answers in flight, then closes the connection. */
  close(): Promise<void>;
}

interface Pending {
  /** When it was sent (performance.now()), for the answer timeout. */
  readonly sentAtMs: number;
  /** Takes the leader's answer (code OK). */
  resolve(answer: ScheduleTaskStreamResponse): void;
  reject(err: ScheduleError): void;
}

type Stream = ClientDuplexStream<ScheduleTaskStreamRequest, ScheduleTaskStreamResponse>;

/**
 * A producer over one ScheduleTaskStream: no gRPC call per task (profiled: a unary call
 * costs the producer ~180 µs of CPU and the leader ~80 µs more than a stream message), and
 * the tasks given in one event-loop turn go in one message (see RequestBatcher).
 * The stream opens on first use and again after it breaks, on the leader a refusal named
 * or the next listed one if it broke with UNAVAILABLE. It never retries by itself: a
 * schedule that may have been saved is the caller's to retry, with the same id.
 */
export function createProducer(options: ProducerOptions): Producer {
  const leaders = followedLeaders(options);
  const pending = new Map<number, Pending>();
  let [stream, batcher]: [Stream | undefined, RequestBatcher | undefined] = [undefined, undefined];
  let [nextRequestId, closed] = [1, false];
  const tracer = scheduleTracer(options.tracing);
  const timeoutMs = answerTimeout(options);
  let breakStream = (_code: status, _message: string, _hint?: string): void => undefined;
  const silence = new SilenceWatch(
    timeoutMs,
    () => oldestSentAtMs(pending),
    () => breakStream(status.UNAVAILABLE, noAnswer(leaders.address, timeoutMs)),
  );

  const open = (): Stream => {
    const opened = leaders.current.scheduleTaskStream(new Metadata());
    const batches = (batcher = batcherFor(opened));
    breakStream = (code, message, hint) => {
      if (stream !== opened) return;
      stream = undefined;
      batches.stop();
      opened.cancel(); // ended or broken already, or silent: never heard from again
      // Every answer this stream still owed is lost with it.
      for (const [, waiter] of pending) waiter.reject(new ScheduleError(code, message));
      pending.clear();
      if (code === status.UNAVAILABLE && !closed) leaders.move(hint);
    };
    routeAnswers(opened, pending, breakStream);
    return opened;
  };

  /** Sends one task; `settle` turns the answer into what the caller's promise resolves to. */
  const send = <T>(
    task: TaskToSchedule,
    settle: (answer: ScheduleTaskStreamResponse) => T,
  ): Promise<T> => {
    const refused = closed ? closedError() : badTask(task);
    if (refused) return Promise.reject(refused);
    stream ??= open();
    const requestId = nextRequestId++;
    const span = tracer?.begin(task.kind);
    const draft = taskDraft(span ? { ...task, traceContext: span.traceContext } : task);
    return new Promise<T>((resolve, reject) => {
      const sentAtMs = performance.now();
      const waiter: Pending = { sentAtMs, resolve: (answer) => resolve(settle(answer)), reject };
      pending.set(requestId, span ? endingSpan(waiter, span) : waiter);
      batcher!.add({ requestId, task: draft, more: [] });
      silence.watch();
    });
  };

  return {
    schedule: (task) => send(task, idOf),
    submit: (task) => send(task, outcomeOf),
    result: (id, waitOptions) => awaitResult(leaders, closed, id, waitOptions),
    cancel: canceller(leaders, options, timeoutMs, () => closed),
    async close() {
      closed = true;
      batcher?.flush();
      await endAfterAnswers(stream, pending.size > 0);
      silence.stop();
      leaders.close();
    },
  };
}

/** A task the producer cannot send, refused on its own (INVALID_ARGUMENT); else undefined. */
function badTask(task: TaskToSchedule): ScheduleError | undefined {
  const problem = taskProblem(task);
  return problem === undefined ? undefined : new ScheduleError(status.INVALID_ARGUMENT, problem);
}

/** The tracer of schedule spans the options ask for, if any. */
function scheduleTracer(tracing: ProducerOptions['tracing']): ScheduleTracer | undefined {
  const chosen = chosenTracer(tracing);
  return chosen ? new ScheduleTracer(chosen) : undefined;
}

/** When the oldest schedule still unanswered was sent (they are kept in sending order). */
function oldestSentAtMs(pending: Map<number, Pending>): number | undefined {
  return (pending.values().next().value as Pending | undefined)?.sentAtMs;
}

const closedError = () => new ScheduleError(status.FAILED_PRECONDITION, 'the producer is closed');

const noAnswer = (address: string, timeoutMs: number): string =>
  `the leader at ${address} did not answer within ${timeoutMs} ms (frozen, overloaded or cut off?)`;

/** The producer's client, on one leader at a time. */
function followedLeaders(options: ProducerOptions): FollowedConnection<SchedulerServiceClient> {
  const creds = options.credentials ?? grpcCredentials.createInsecure();
  const clientOptions = { ...tokenOptions(options.token), ...WAIT_KEEPALIVE };
  return new FollowedConnection(
    leaderList(options.leader),
    (address) => new SchedulerServiceClient(address, creds, clientOptions),
  );
}

/** cancel(): CancelTask on the producer's leaders, refused once the producer is closed. */
function canceller(
  leaders: FollowedConnection<SchedulerServiceClient>,
  options: ProducerOptions,
  timeoutMs: number,
  isClosed: () => boolean,
): (id: string) => Promise<CancelOutcome> {
  const settings = {
    timeoutMs,
    tries: leaderList(options.leader).length + 1,
    settingNames: PRODUCER_SETTINGS,
    error: (code: status, message: string) => new ScheduleError(code, message),
  };
  return (id) => (isClosed() ? Promise.reject(closedError()) : cancelTask(leaders, id, settings));
}

/** result(): the task's end, on the producer's leaders, as its result or its failure. */
function awaitResult(
  leaders: FollowedConnection<SchedulerServiceClient>,
  closed: boolean,
  id: string,
  options: WaitOptions | undefined,
): Promise<string> {
  if (closed) return Promise.reject(closedError());
  return waitForTaskEnd(
    followingLink(leaders, (client, request) => client.watchTasks(request)),
    id,
    { settingNames: PRODUCER_SETTINGS, ...options },
  ).then(resultOf);
}

/** A waiter that ends the schedule's span as it settles. */
function endingSpan(waiter: Pending, span: ScheduleSpan): Pending {
  return {
    sentAtMs: waiter.sentAtMs,
    resolve: (answer) => {
      span.end();
      waiter.resolve(answer);
    },
    reject: (err) => {
      span.end(err);
      waiter.reject(err);
    },
  };
}

/** Ends the stream; with answers still owed, waits until the leader has sent them. */
async function endAfterAnswers(stream: Stream | undefined, owed: boolean): Promise<void> {
  if (stream === undefined) return;
  if (!owed) {
    stream.end();
    return;
  }
  await new Promise<void>((resolve) => {
    stream.once('end', resolve).once('error', () => resolve());
    stream.end();
  });
}

const idOf = (answer: ScheduleTaskStreamResponse): string => answer.id;
const outcomeOf = (answer: ScheduleTaskStreamResponse) => ({
  id: answer.id,
  existing: answer.existing,
});

/**
 * Settles each waiter in `pending` with its answer from `stream`, and calls `fail` when the
 * stream breaks (with the active leader its refusal named, if any) or ends.
 */
function routeAnswers(
  stream: Stream,
  pending: Map<number, Pending>,
  fail: (code: status, message: string, hint?: string) => void,
): void {
  const settle = (response: ScheduleTaskStreamResponse): void => {
    const waiter = pending.get(response.requestId);
    if (!waiter) return;
    pending.delete(response.requestId);
    if (response.code === status.OK) waiter.resolve(response);
    else waiter.reject(new ScheduleError(response.code, response.message));
  };
  stream.on('data', (response: ScheduleTaskStreamResponse) => {
    settle(response);
    for (const answer of response.more) settle(answer);
  });
  stream.on('error', (err: Error & { code?: status; details?: string }) =>
    fail(
      err.code ?? status.UNAVAILABLE,
      `the schedule stream broke before the leader answered: ${brokeBecause(err, PRODUCER_SETTINGS)}`,
      leaderHint(err),
    ),
  );
  stream.on('end', () =>
    fail(status.UNAVAILABLE, 'the leader ended the schedule stream before answering'),
  );
}

/** Client options that send the token on every call, if there is one. */
function tokenOptions(token: string | undefined): { interceptors?: Interceptor[] } {
  return token === undefined ? {} : { interceptors: [bearerInterceptor(token)] };
}
