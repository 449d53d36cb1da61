import type { FastifyInstance } from 'fastify';
import { Pause } from '../../gen/scheduler/v1/scheduler.js';
import { pauseToWire } from '../grpc/task-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { ERROR_SCHEMA } from './schemas.js';

const PAUSE_SCHEMA = {
  type: 'object',
  properties: { kind: { type: 'string' }, since: { type: 'string', format: 'date-time' } },
} as const;

const KIND_PARAMS = {
  type: 'object',
  properties: { kind: { type: 'string', minLength: 1 } },
  required: ['kind'],
} as const;

/** /v1/pauses and /v1/kinds/{kind}:pause|:resume (Pause, Resume, ListPauses). */
export function registerPauseRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/pauses',
    {
      schema: {
        summary: 'Every paused kind (ListPauses)',
        response: {
          200: { type: 'object', properties: { pauses: { type: 'array', items: PAUSE_SCHEMA } } },
        },
      },
    },
    () => ({ pauses: coordinator.listPauses().map((p) => Pause.toJSON(pauseToWire(p))) }),
  );

  app.post(
    '/v1/kinds/:kind(.+)::pause',
    {
      schema: {
        summary: 'Start no more tasks of a kind until it is resumed; running ones finish (Pause)',
        params: KIND_PARAMS,
        response: {
          200: {
            type: 'object',
            properties: { pause: PAUSE_SCHEMA, changed: { type: 'boolean' } },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const { kind } = request.params as { kind: string };
      const { pause, changed } = await coordinator.pauseKind(kind);
      return { pause: Pause.toJSON(pauseToWire(pause)), changed };
    },
  );

  app.post(
    '/v1/kinds/:kind(.+)::resume',
    {
      schema: {
        summary: "Start a paused kind's tasks again, in their order (Resume)",
        params: KIND_PARAMS,
        response: {
          200: { type: 'object', properties: { changed: { type: 'boolean' } } },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => coordinator.resumeKind((request.params as { kind: string }).kind),
  );
}
