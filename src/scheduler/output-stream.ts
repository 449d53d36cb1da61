import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { GetTaskOutputRequest, GetTaskOutputResponse } from '../gen/scheduler/v1/scheduler.js';
import type { Coordinator } from '../leader/coordinator.js';
import { MAX_WATCH_BACKLOG } from '../shared/grpc-watch.js';
import { toGrpcStatus } from '../shared/grpc-status.js';
import { sliceFrom, type OutputChunk } from './task-output.js';
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
  coordinator: Coordinator,
  logger: Logger,
): void {
  const { id, follow } = call.request;
  const offset = Number(call.request.offset);
  let ended = false;
  // What is already held goes out in one loop: only what piles up after it is a backlog.
  let backlogBase: number | undefined = undefined;
  let cleanup = (): void => {};
  const finish = (error?: { code: status; details: string }): void => {
    if (ended) return;
    ended = true;
    cleanup();
    if (error) call.emit('error', error);
    else call.end();
  };
  const send = (chunk: OutputChunk): void => {
    const part = sliceFrom(chunk, offset);
    if (ended || !part) return;
    if (backlogBase !== undefined && call.writableLength > MAX_WATCH_BACKLOG + backlogBase) {
      finish({ code: status.RESOURCE_EXHAUSTED, details: 'the reader fell too far behind' });
      return;
    }
    call.write(outputChunkToWire(part));
  };
  let read: ReturnType<Coordinator['readOutput']>;
  try {
    read = coordinator.readOutput(
      taskIdFromWire(id),
      offset,
      follow ? (event) => (event.kind === 'chunk' ? send(event.chunk) : finish()) : undefined,
    );
  } catch (err) {
    ended = true;
    call.emit('error', toGrpcStatus(err, logger));
    return;
  }
  const stopClose = coordinator.events.onClose((reason) =>
    finish({ code: status.UNAVAILABLE, details: reason }),
  );
  cleanup = () => {
    read.unsubscribe();
    stopClose();
  };
  call.on('cancelled', () => finish());
  for (const chunk of read.chunks) send(chunk);
  backlogBase = read.chunks.length;
  if (!follow || read.done) finish();
}
