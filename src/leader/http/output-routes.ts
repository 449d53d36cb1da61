import type { FastifyInstance } from 'fastify';
import { sliceFrom, type OutputChunk } from '../../scheduler/task-output.js';
import { taskIdFromWire } from '../grpc/task-wire.js';
import type { Coordinator } from '../coordinator.js';
import { WATCH_PUMP_LIMITS, WatchPump, type WatchPumpLimits } from '../../shared/watch-pump.js';
import { ERROR_SCHEMA, ID_PARAMS } from './schemas.js';

/** A followed output stream's bounds: as an SSE watch's (bytes waiting once live). */
const OUTPUT_FOLLOW_LIMITS: WatchPumpLimits = { ...WATCH_PUMP_LIMITS, maxWaiting: 2 * 1024 * 1024 };

/** GET /v1/tasks/{id}/output: a task's output as plain text, optionally followed live. */
export function registerOutputRoutes(app: FastifyInstance, coordinator: Coordinator): void {
  app.get(
    '/v1/tasks/:id/output',
    {
      // A HEAD would open the stream and never end; only GET may watch.
      exposeHeadRoute: false,
      schema: {
        summary: 'What a task wrote (command stdout/stderr, SDK log lines), as text/plain',
        description:
          'With follow=true the response stays open and output is streamed as it comes, ' +
          'until the task finishes. offset skips that many characters.',
        params: ID_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            offset: { type: 'string', pattern: '^[0-9]{1,15}$' },
            follow: { type: 'string', enum: ['true', 'false', '1', '0'] },
          },
        },
        response: { 200: { type: 'string' }, '4xx': ERROR_SCHEMA },
      },
    },
    (request, reply) => {
      const id = taskIdFromWire((request.params as { id: string }).id);
      const query = request.query as { offset?: string; follow?: string };
      const offset = Number(query.offset ?? '0');
      const follow = query.follow === 'true' || query.follow === '1';
      if (!follow) {
        const { chunks } = coordinator.readOutput(id, offset);
        return reply
          .type('text/plain; charset=utf-8')
          .send(chunks.map((chunk) => chunk.data).join(''));
      }
      // Admitted like every watch (429 when over the limits), before anything is written.
      const release = coordinator.watchers.admit(request.ip);
      const raw = reply.raw;
      let ended = false;
      let cleanup = (): void => release();
      const finish = (): void => {
        if (ended) return;
        ended = true;
        pump.stop();
        cleanup();
        raw.end();
      };
      const pump = new WatchPump<string>(
        {
          write: (text) => raw.write(text),
          onceDrained: (callback) => raw.once('drain', callback),
          waiting: () => raw.writableLength,
        },
        OUTPUT_FOLLOW_LIMITS,
        {
          // Cut, not ended: a clean end would read as "that is all the output".
          overflow: () => {
            if (ended) return;
            ended = true;
            cleanup();
            raw.destroy();
          },
          done: finish,
          turns: coordinator.watchers.turns,
        },
      );
      const part = (chunk: OutputChunk): string[] => {
        const piece = sliceFrom(chunk, offset);
        return piece ? [piece.data] : [];
      };
      let read: ReturnType<Coordinator['readOutput']>;
      try {
        // Throws NOT_FOUND (a normal 404) before anything is written.
        read = coordinator.readOutput(id, offset, (event) =>
          event.kind === 'chunk'
            ? part(event.chunk).forEach((text) => pump.push(text))
            : pump.end(),
        );
      } catch (err) {
        release();
        throw err;
      }
      reply.hijack();
      raw.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
      const stopClose = coordinator.events.onClose(() => finish());
      cleanup = () => {
        read.unsubscribe();
        stopClose();
        release();
      };
      request.raw.on('close', () => finish());
      pump.start(
        (function* () {
          for (const chunk of read.chunks) yield* part(chunk);
        })(),
        undefined,
      );
      if (read.done) pump.end();
    },
  );
}
