import { Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ScheduleTaskStreamRequest,
  ScheduleTaskStreamResponse,
} from '../../gen/scheduler/v1/scheduler.js';
import { InvalidArgumentError, NotLeaderError } from '../../shared/errors.js';
import { toGrpcStatus, type StatusError } from '../../shared/grpc-status.js';
import { MalformedMessage } from '../../shared/malformed.js';
import { MAX_STREAM_BATCH, STREAM_BATCHES_HEADER } from '../../shared/stream-batches.js';
import type { LeaderApi } from '../leader-api.js';
import { withCallTrace } from '../tracing/trace-carrier.js';
import { newTaskFromWire } from './task-wire.js';

type ScheduleStreamCall = ServerDuplexStream<ScheduleTaskStreamRequest, ScheduleTaskStreamResponse>;

/**
 * ScheduleTaskStream: every task is one ScheduleTask, answered in-band (a refusal is an
 * answer with a status code, not the end of the stream). A message with `more` is several
 * tasks, each scheduled and answered as if alone, their answers sent together once all are
 * in (they share the turn's commit, so they come together anyway). The stream ends once the
 * client has ended its side and every request has been answered.
 *
 * Some refusals end the stream instead, once everything read before them is answered: this
 * leader is not (or no longer) the active one (UNAVAILABLE naming the active leader, as any
 * call to a standby ends, so a producer moves there rather than being refused task by task
 * on a stream that can never schedule anything), a message that cannot be read, or one
 * with more than MAX_STREAM_BATCH tasks in `more` (INVALID_ARGUMENT: its tasks cannot be
 * answered one by one, and the rest of the stream may be garbled too).
 */
export function serveScheduleStream(
  coordinator: LeaderApi,
  logger: Logger,
  call: ScheduleStreamCall,
): void {
  const headers = new Metadata();
  headers.set(STREAM_BATCHES_HEADER, '1');
  call.sendMetadata(headers);
  let inFlight = 0;
  let clientDone = false;
  /** Why the stream ends once what is in flight is answered; nothing more is read. */
  let ending: StatusError | undefined;
  let ended = false;
  /** Ends the stream once nothing is in flight, if it is ending or the client is done. */
  const settle = (): void => {
    if (ended || inFlight > 0 || (ending === undefined && !clientDone)) return;
    ended = true;
    if (ending !== undefined) call.emit('error', ending);
    else call.end();
  };
  const endWith = (err: unknown): void => {
    if (ending !== undefined) return;
    ending = toGrpcStatus(err, logger);
    call.pause();
  };
  const endNow = (err: unknown): void => {
    endWith(err);
    settle();
  };
  /** One message's answers, as one response (none left: the stream's end answers them). */
  const answer = (answers: readonly TaskAnswer[]): void => {
    inFlight--;
    const response = responseOf(answers);
    if (response !== undefined) write(response);
    settle();
  };
  const write = backpressured(call, () => ending === undefined);
  const scheduleOne = taskScheduler(coordinator, logger, call.metadata, endWith);
  call.on('data', (request: ScheduleTaskStreamRequest | MalformedMessage) => {
    if (ending !== undefined) return;
    // Its tasks and request ids are unknown: nothing can be answered one by one.
    if (request instanceof MalformedMessage) return endNow(request.toError());
    const oversized = oversizedBatch(request);
    if (oversized !== undefined) return endNow(oversized);
    inFlight++;
    const first = scheduleOne(request);
    if (request.more.length === 0) {
      if (first instanceof Promise) void first.then((one) => answer([one]));
      else answer([first]);
      return;
    }
    // In order: each task takes its place in the queue in its own scheduleTask call.
    const rest = request.more.map((more) => scheduleOne(more, nestedRefusal(more)));
    void Promise.all([first, ...rest]).then(answer);
  });
  call.on('end', () => {
    clientDone = true;
    settle();
  });
  // A broken stream: answers still in flight have nowhere to go; their tasks stay scheduled.
  call.on('error', () => {});
}

/**
 * A task's answer, or none: a task refused because this leader is not the active one is
 * answered by the stream's end (UNAVAILABLE naming the active leader), which the client
 * sees with its hint; an in-band answer would reach it first and carry no hint.
 */
type TaskAnswer = ScheduleTaskStreamResponse | undefined;

/**
 * Schedules one task of the stream: its answer at once for a refusal, else once saved. A
 * refusal because this leader is not the active one goes to `notLeader` instead.
 */
function taskScheduler(
  coordinator: LeaderApi,
  logger: Logger,
  metadata: Metadata,
  notLeader: (err: NotLeaderError) => void,
) {
  const refusal = (requestId: number, err: unknown): TaskAnswer => {
    if (!(err instanceof NotLeaderError)) return refusalOf(requestId, err, logger);
    notLeader(err);
    return undefined;
  };
  return (
    request: ScheduleTaskStreamRequest,
    refused?: InvalidArgumentError,
  ): TaskAnswer | Promise<TaskAnswer> => {
    const { requestId } = request;
    try {
      if (refused) throw refused;
      return coordinator.scheduleTask(withCallTrace(newTaskFromWire(request.task), metadata)).then(
        ({ task, existing }) => ({
          requestId,
          id: task.id,
          code: 0,
          message: '',
          existing,
          more: [],
        }),
        (err: unknown) => refusal(requestId, err),
      );
    } catch (err) {
      return refusal(requestId, err);
    }
  };
}

/**
 * Writes answers with backpressure: while the client does not read them, its requests are
 * not read either (one 'drain' listener at a time, however many writes found the buffer
 * full), and reading resumes on drain unless `mayResume` says the stream is ending.
 */
function backpressured(
  call: ScheduleStreamCall,
  mayResume: () => boolean,
): (response: ScheduleTaskStreamResponse) => void {
  let waiting = false;
  return (response) => {
    if (call.write(response) || waiting) return;
    waiting = true;
    call.pause();
    call.once('drain', () => {
      waiting = false;
      if (mayResume()) call.resume();
    });
  };
}

/** A message's answers as one response: the first, and the rest in its `more`. */
function responseOf(answers: readonly TaskAnswer[]): ScheduleTaskStreamResponse | undefined {
  if (answers.length === 1) return answers[0];
  const [head, ...more] = answers.filter((a): a is ScheduleTaskStreamResponse => !!a);
  return head && { ...head, more };
}

/** A task's refusal as an in-band answer, with the status ScheduleTask would have given. */
function refusalOf(requestId: number, err: unknown, logger: Logger): ScheduleTaskStreamResponse {
  const { code, details } = toGrpcStatus(err, logger);
  return { requestId, id: '', code, message: details ?? '', existing: false, more: [] };
}

/** A message with more than MAX_STREAM_BATCH tasks in `more`: refused whole, before any work per task. */
function oversizedBatch(request: ScheduleTaskStreamRequest): InvalidArgumentError | undefined {
  if (request.more.length <= MAX_STREAM_BATCH) return undefined;
  return new InvalidArgumentError(
    `a message carries at most ${MAX_STREAM_BATCH} tasks in \`more\` (this one ${request.more.length}); send them in several messages`,
  );
}

/** Why a task of a message's `more` is refused, if it is: it carries `more` of its own. */
function nestedRefusal(task: ScheduleTaskStreamRequest): InvalidArgumentError | undefined {
  return task.more.length > 0
    ? new InvalidArgumentError('a task in `more` must not carry `more` of its own')
    : undefined;
}
