import { Metadata, type ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  ScheduleTaskStreamRequest,
  ScheduleTaskStreamResponse,
} from '../../gen/scheduler/v1/scheduler.js';
import { InvalidArgumentError, NotLeaderError } from '../../shared/errors.js';
import { toGrpcStatus } from '../../shared/grpc-status.js';
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
 * client has ended its side and every request has been answered; a leader that is not (or
 * no longer) the active one ends it at once with UNAVAILABLE naming the active leader, as
 * any call to a standby ends, so the producer moves there instead of being refused task by
 * task on a stream that can never schedule anything.
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
  let ended = false;
  const answer = (response: ScheduleTaskStreamResponse): void => {
    inFlight--;
    if (ended) return;
    // Backpressure: stop reading while the client is not reading its answers.
    if (!call.write(response)) {
      call.pause();
      call.once('drain', () => call.resume());
    }
    if (clientDone && inFlight === 0) call.end();
  };
  const scheduleOne = taskScheduler(coordinator, logger, call.metadata, (err) => {
    if (ended) return;
    ended = true;
    call.emit('error', toGrpcStatus(err, logger));
  });
  call.on('data', (request: ScheduleTaskStreamRequest | MalformedMessage) => {
    inFlight++;
    // A request that did not decode is refused in-band like any other; it has no id.
    if (request instanceof MalformedMessage) {
      answer(refusalOf(0, request.toError(), logger));
      return;
    }
    const first = scheduleOne(request);
    if (request.more.length === 0) {
      if (first instanceof Promise) void first.then(answer);
      else answer(first);
      return;
    }
    // In order: each task takes its place in the queue in its own scheduleTask call.
    const rest = request.more.map((more, i) => scheduleOne(more, batchRefusal(more, i)));
    void Promise.all([first, ...rest]).then(([head, ...tail]) => answer({ ...head!, more: tail }));
  });
  call.on('end', () => {
    clientDone = true;
    if (inFlight === 0) call.end();
  });
  // A broken stream: answers still in flight have nowhere to go; their tasks stay scheduled.
  call.on('error', () => {});
}

/**
 * Schedules one task of the stream: its answer at once for a refusal, else once saved. A
 * refusal because this leader is not the active one goes to `notLeader` too.
 */
function taskScheduler(
  coordinator: LeaderApi,
  logger: Logger,
  metadata: Metadata,
  notLeader: (err: NotLeaderError) => void,
) {
  const refusal = (requestId: number, err: unknown): ScheduleTaskStreamResponse => {
    if (err instanceof NotLeaderError) notLeader(err);
    return refusalOf(requestId, err, logger);
  };
  return (
    request: ScheduleTaskStreamRequest,
    refused?: InvalidArgumentError,
  ): ScheduleTaskStreamResponse | Promise<ScheduleTaskStreamResponse> => {
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

/** A task's refusal as an in-band answer, with the status ScheduleTask would have given. */
function refusalOf(requestId: number, err: unknown, logger: Logger): ScheduleTaskStreamResponse {
  const { code, details } = toGrpcStatus(err, logger);
  return { requestId, id: '', code, message: details ?? '', existing: false, more: [] };
}

/** Why the `index`th task of a message's `more` is refused, if it is. */
function batchRefusal(
  task: ScheduleTaskStreamRequest,
  index: number,
): InvalidArgumentError | undefined {
  if (index >= MAX_STREAM_BATCH) {
    return new InvalidArgumentError(
      `at most ${MAX_STREAM_BATCH} tasks in one message's \`more\`; send the rest in another message`,
    );
  }
  if (task.more.length > 0) {
    return new InvalidArgumentError('a task in `more` must not carry `more` of its own');
  }
  return undefined;
}
