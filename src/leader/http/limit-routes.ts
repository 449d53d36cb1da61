import type { FastifyInstance } from 'fastify';
import { Limit } from '../../gen/scheduler/v1/scheduler.js';
import type { LimitTarget } from '../../scheduler/key-limits.js';
import { limitFromWire, limitToWire } from '../grpc/control-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { ERROR_SCHEMA, nameParams, oneSpelling, uint64, withSnakeCase } from './schemas.js';

const count = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

/** The fields a limit body may spell in camelCase or in the proto's snake_case. */
const LIMIT_SPELLINGS = [
  ['maxRunning', 'max_running'],
  ['rateCount', 'rate_count'],
  ['rateIntervalMs', 'rate_interval_ms'],
  ['rateBurst', 'rate_burst'],
] as const;

/** What a PUT takes: the proto JSON mapping of Limit, without its target and usage. */
const LIMIT_INPUT_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: withSnakeCase(
    {
      maxRunning: { ...count, description: 'tasks of the key running at once, across the cluster' },
      rateCount: { ...count, description: 'starts per rateIntervalMs' },
      rateIntervalMs: uint64({ type: 'integer', minimum: 1, maximum: 86_400_000 }),
      rateBurst: { ...count, description: 'starts at once after a quiet spell; default 1' },
    },
    LIMIT_SPELLINGS,
  ),
} as const;

const LIMIT_SCHEMA = {
  type: 'object',
  properties: {
    key: { type: 'string' },
    kind: { type: 'string' },
    maxRunning: { type: 'integer' },
    rateCount: { type: 'integer' },
    rateIntervalMs: { type: 'integer' },
    rateBurst: { type: 'integer' },
    running: { type: 'integer' },
    queued: { type: 'integer' },
  },
} as const;

/**
 * /v1/limits (ListLimits), and PUT/DELETE /v1/limits/keys/{key} and
 * /v1/limits/kinds/{kind} (SetLimit, RemoveLimit).
 */
export function registerLimitRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/limits',
    {
      schema: {
        summary: 'Every limit: kinds, then concurrency keys with their running and queued tasks',
        response: {
          200: { type: 'object', properties: { limits: { type: 'array', items: LIMIT_SCHEMA } } },
        },
      },
    },
    () => ({ limits: coordinator.limits.list().map((l) => Limit.toJSON(limitToWire(l))) }),
  );
  registerLimitRoute(app, coordinator, 'key', '/v1/limits/keys/:key', 'a concurrency key');
  registerLimitRoute(
    app,
    coordinator,
    'kind',
    '/v1/limits/kinds/:kind',
    "each key of a kind's tasks (the default)",
  );
}

/** PUT and DELETE of one key's or kind's limit. */
function registerLimitRoute(
  app: FastifyInstance,
  coordinator: LeaderApi,
  name: 'kind' | 'key',
  path: string,
  what: string,
): void {
  const targetOf = (params: unknown): LimitTarget => {
    const value = (params as Record<string, string>)[name]!;
    return name === 'kind' ? { kind: value } : { key: value };
  };
  app.put(
    path,
    {
      schema: {
        summary: `Set the limit of ${what} (SetLimit)`,
        params: nameParams(name),
        body: LIMIT_INPUT_SCHEMA,
        response: {
          200: { type: 'object', properties: { limit: LIMIT_SCHEMA } },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const target = targetOf(request.params);
      const body = oneSpelling(request.body, LIMIT_SPELLINGS) as Record<string, number>;
      const { limit } = limitFromWire({
        key: 'key' in target ? target.key : '',
        kind: 'kind' in target ? target.kind : '',
        maxRunning: body.maxRunning,
        rateCount: body.rateCount,
        // A uint64: a string of digits too (the proto JSON mapping's); its range is checked
        // with the rest of the limit.
        rateIntervalMs: body.rateIntervalMs === undefined ? undefined : Number(body.rateIntervalMs),
        rateBurst: body.rateBurst,
        running: 0,
        queued: 0,
      });
      return { limit: Limit.toJSON(limitToWire(await coordinator.limits.set(target, limit))) };
    },
  );
  app.delete(
    path,
    {
      schema: {
        summary: `Lift the limit of ${what} (RemoveLimit)`,
        params: nameParams(name),
        response: {
          200: { type: 'object', properties: { changed: { type: 'boolean' } } },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => coordinator.limits.remove(targetOf(request.params)),
  );
}
