import type { FastifyInstance } from 'fastify';
import { sliceFrom, type OutputChunk } from '../../scheduler/task-output.js';
import { taskIdFromWire } from '../../scheduler/task-wire.js';
import type { Coordinator } from '../coordinator.js';
import { ERROR_SCHEMA, ID_PARAMS } from './schemas.js';

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
      const raw = reply.raw;
      let ended = false;
      let cleanup = (): void => {};
      const finish = (): void => {
        if (ended) return;
        ended = true;
        cleanup();
        raw.end();
      };
      const send = (chunk: OutputChunk): void => {
        const part = sliceFrom(chunk, offset);
        if (!ended && part) raw.write(part.data);
      };
      // Throws NOT_FOUND (a normal 404) before anything is written.
      const read = coordinator.readOutput(id, offset, (event) =>
        event.kind === 'chunk' ? send(event.chunk) : finish(),
      );
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
      };
      request.raw.on('close', () => finish());
      for (const chunk of read.chunks) send(chunk);
      if (read.done) finish();
    },
  );
}
