import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TaskId } from '../../shared/ids.js';
import { sliceFrom, type OutputChunk } from '../../scheduler/task-output.js';
import { taskIdFromWire } from '../grpc/task-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { WATCH_PUMP_LIMITS, type WatchPumpLimits } from '../../shared/watch-pump.js';
import { ERROR_SCHEMA, ID_PARAMS } from './schemas.js';
import { streamReply } from './streamed-reply.js';

/** A followed output stream's bounds: as an SSE watch's (bytes waiting once live). */
const OUTPUT_FOLLOW_LIMITS: WatchPumpLimits = { ...WATCH_PUMP_LIMITS, maxWaiting: 2 * 1024 * 1024 };

const OUTPUT_SCHEMA = {
  summary: 'What a task wrote (command stdout/stderr, SDK log lines), as text/plain',
  description:
    'With follow=true the response stays open and output is streamed as it comes, ' +
    'until the task finishes. offset skips that many characters. With format=ndjson, ' +
    'one JSON object per line and chunk, as GetTaskOutput sends them: ' +
    '{"offset", "attempt", "stream", "data", "truncated"}, so attempts can be told apart.',
  params: ID_PARAMS,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      offset: { type: 'string', pattern: '^[0-9]{1,15}$' },
      follow: { type: 'string', enum: ['true', 'false', '1', '0'] },
      format: { type: 'string', enum: ['text', 'ndjson'] },
    },
  },
  response: { 200: { type: 'string' }, '4xx': ERROR_SCHEMA },
};

/** GET /v1/tasks/{id}/output: a task's output as plain text, optionally followed live. */
export function registerOutputRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/tasks/:id/output',
    // A HEAD would open the stream and never end; only GET may watch.
    { exposeHeadRoute: false, schema: OUTPUT_SCHEMA },
    (request, reply) => {
      const id = taskIdFromWire((request.params as { id: string }).id);
      const query = request.query as { offset?: string; follow?: string; format?: string };
      const offset = Number(query.offset ?? '0');
      const follow = query.follow === 'true' || query.follow === '1';
      const format = query.format === 'ndjson' ? NDJSON : TEXT;
      if (!follow) {
        const { chunks } = coordinator.readOutput(id, offset);
        const pieces = chunks.flatMap((chunk) => written(chunk, offset, format));
        return reply.type(format.contentType).send(pieces.join(''));
      }
      followOutput(request, reply, coordinator, id, offset, format);
    },
  );
}

/** How output is written: its text alone, or each chunk whole as a line of JSON. */
interface OutputFormat {
  readonly contentType: string;
  write(chunk: OutputChunk): string;
}

const TEXT: OutputFormat = {
  contentType: 'text/plain; charset=utf-8',
  write: (chunk) => chunk.data,
};

const NDJSON: OutputFormat = {
  contentType: 'application/x-ndjson; charset=utf-8',
  write: ({ offset, attempt, stream, data, truncated }) =>
    `${JSON.stringify({ offset, attempt, stream, data, truncated })}\n`,
};

/** What of `chunk` lies from `offset` on, as `format` writes it: none or one piece. */
function written(chunk: OutputChunk, offset: number, format: OutputFormat): string[] {
  const piece = sliceFrom(chunk, offset);
  return piece ? [format.write(piece)] : [];
}

/** Streams a task's output from `offset` as it comes, until the task finishes. */
function followOutput(
  request: FastifyRequest,
  reply: FastifyReply,
  coordinator: LeaderApi,
  id: TaskId,
  offset: number,
  format: OutputFormat,
): void {
  const part = (chunk: OutputChunk): string[] => written(chunk, offset, format);
  // Admitted like every watch (429 when over the limits), before anything is written.
  streamReply<string>(request, reply, coordinator.watchers, {
    headers: {
      'content-type': format.contentType,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    },
    limits: OUTPUT_FOLLOW_LIMITS,
    format: (text) => text,
    // Cut, not ended: a clean end would read as "that is all the output".
    overflow: 'cut',
    subscribe: (pump) => {
      // Throws NOT_FOUND (a normal 404) before anything is written.
      const read = coordinator.readOutput(id, offset, (event) =>
        event.kind === 'chunk' ? part(event.chunk).forEach((text) => pump.push(text)) : pump.end(),
      );
      return {
        snapshot: (function* () {
          for (const chunk of read.chunks) yield* part(chunk);
        })(),
        synced: undefined,
        done: read.done,
        unsubscribe: () => read.unsubscribe(),
      };
    },
    onClose: (end) => coordinator.events.onClose(() => end()),
  });
}
