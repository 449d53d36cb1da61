import type { FastifyInstance } from 'fastify';
import { Pause } from '../../gen/scheduler/v1/scheduler.js';
import { pauseToWire } from '../grpc/control-wire.js';
import type { LeaderApi } from '../leader-api.js';
import type { PauseTarget } from '../pauses.js';
import { ERROR_SCHEMA, nameParams } from './schemas.js';

const PAUSE_SCHEMA = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    key: { type: 'string' },
    since: { type: 'string', format: 'date-time' },
  },
} as const;

/**
 * /v1/pauses, /v1/kinds/{kind}:pause|:resume and /v1/keys/{key}:pause|:resume (Pause,
 * Resume, ListPauses).
 */
export function registerPauseRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/pauses',
    {
      schema: {
        summary: 'Every paused kind and concurrency key (ListPauses)',
        response: {
          200: { type: 'object', properties: { pauses: { type: 'array', items: PAUSE_SCHEMA } } },
        },
      },
    },
    () => ({ pauses: coordinator.pauses.list().map((p) => Pause.toJSON(pauseToWire(p))) }),
  );
  for (const [name, path, what] of [
    ['kind', '/v1/kinds/:kind(.+)', 'a kind'],
    ['key', '/v1/keys/:key(.+)', 'a concurrency key'],
  ] as const) {
    const target = (params: unknown): PauseTarget => {
      const value = (params as Record<string, string>)[name]!;
      return name === 'kind' ? { kind: value } : { key: value };
    };
    app.post(
      `${path}::pause`,
      {
        schema: {
          summary: `Start no more tasks of ${what} until it is resumed; running ones finish (Pause)`,
          params: nameParams(name),
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
        const { pause, changed } = await coordinator.pauses.pause(target(request.params));
        return { pause: Pause.toJSON(pauseToWire(pause)), changed };
      },
    );
    app.post(
      `${path}::resume`,
      {
        schema: {
          summary: `Start the tasks of ${what} again, in their order (Resume)`,
          params: nameParams(name),
          response: {
            200: { type: 'object', properties: { changed: { type: 'boolean' } } },
            '4xx': ERROR_SCHEMA,
            '5xx': ERROR_SCHEMA,
          },
        },
      },
      async (request) => coordinator.pauses.resume(target(request.params)),
    );
  }
}
