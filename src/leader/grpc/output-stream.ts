import type { ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type {
  GetTaskOutputRequest,
  GetTaskOutputResponse,
} from '../../gen/scheduler/v1/scheduler.js';
import type { LeaderApi } from '../leader-api.js';
import { serveWatch } from '../../shared/grpc-watch.js';
import { sliceFrom, type OutputChunk } from '../../scheduler/task-output.js';
import { taskIdFromWire } from './task-wire.js';

/** A chunk on the wire. */
export function outputChunkToWire(chunk: OutputChunk): GetTaskOutputResponse {
  return {
    offset: chunk.offset,
    attempt: chunk.attempt,
    stream: chunk.stream,
    data: chunk.data,
    truncated: chunk.truncated,
  };
}

/**
 * GetTaskOutput: what the task wrote from the offset, then (with follow) what it writes,
 * until it finishes, the caller leaves, or the leader shuts down (UNAVAILABLE).
 */
export function serveTaskOutput(
  call: ServerWritableStream<GetTaskOutputRequest, GetTaskOutputResponse>,
  coordinator: LeaderApi,
  logger: Logger,
): void {
  const { id, follow } = call.request;
  const offset = Number(call.request.offset);
  const toWire = (chunk: OutputChunk): GetTaskOutputResponse[] => {
    const part = sliceFrom(chunk, offset);
    return part ? [outputChunkToWire(part)] : [];
  };
  serveWatch(
    call,
    {
      start: (send, end) => {
        const read = coordinator.readOutput(
          taskIdFromWire(id),
          offset,
          follow
            ? (event) => (event.kind === 'chunk' ? toWire(event.chunk).forEach(send) : end())
            : undefined,
        );
        return {
          snapshot: (function* () {
            for (const chunk of read.chunks) yield* toWire(chunk);
          })(),
          endAfterSnapshot: !follow || read.done,
          unsubscribe: read.unsubscribe,
        };
      },
      onClose: (listener) => coordinator.events.onClose(listener),
    },
    logger,
    () => coordinator.watchers,
  );
}
