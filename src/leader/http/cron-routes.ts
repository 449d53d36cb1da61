import type { FastifyInstance } from 'fastify';
import { CronSchedule } from '../../gen/scheduler/v1/scheduler.js';
import { cronFromWire, cronToWire } from '../grpc/control-wire.js';
import type { LeaderApi } from '../leader-api.js';
import {
  ERROR_SCHEMA,
  nameParams,
  oneSpelling,
  TASK_INPUT_SCHEMA,
  taskFromBody,
} from './schemas.js';

/** What each firing schedules: a task body without id, times or idempotency. */
const TEMPLATE_FIELDS = [
  'payload',
  'priority',
  'kind',
  'targetMemberId',
  'target_member_id',
  'maxAttempts',
  'max_attempts',
  'retryBackoffMs',
  'retry_backoff_ms',
  'timeoutMs',
  'timeout_ms',
  'concurrencyKey',
  'concurrency_key',
] as const;

const TEMPLATE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['payload'],
  properties: Object.fromEntries(
    TEMPLATE_FIELDS.map((name) => [name, TASK_INPUT_SCHEMA.properties[name]]),
  ),
} as const;

const CRON_INPUT_PROPERTIES = {
  expression: { type: 'string', description: 'cron expression: 5 fields, or 6 (seconds first)' },
  timeZone: { type: 'string', description: 'IANA time zone; default UTC' },
  time_zone: { type: 'string' },
  task: TEMPLATE_SCHEMA,
} as const;

const CRON_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    expression: { type: 'string' },
    timeZone: { type: 'string' },
    task: { type: 'object', additionalProperties: true },
    paused: { type: 'boolean' },
    nextRun: { type: 'string', format: 'date-time' },
    lastRun: { type: 'string', format: 'date-time' },
    lastTaskId: { type: 'string' },
    createdAt: { type: 'string', format: 'date-time' },
  },
} as const;

const NAME_PARAMS = nameParams('name');

const RESPONSES = { '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA } as const;

type CronBody = { name?: string; expression: string; timeZone?: string; task: unknown };

/** The schedule a body asks for, as AddCronSchedule takes it. */
function cronFromBody(name: string, raw: unknown) {
  const body = oneSpelling(raw, [['timeZone', 'time_zone']]) as CronBody;
  return cronFromWire(
    CronSchedule.fromPartial({
      name,
      expression: body.expression,
      timeZone: body.timeZone ?? '',
      task: taskFromBody(body.task, 'body.task'),
    }),
  );
}

const cronJson = (view: Parameters<typeof cronToWire>[0]) => CronSchedule.toJSON(cronToWire(view));

/**
 * /v1/cron: list, add (POST, refused if the name is taken), add or replace (PUT
 * /v1/cron/{name}), remove, and /v1/cron/{name}:pause|:resume.
 */
export function registerCronRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/cron',
    {
      schema: {
        summary: 'Every cron schedule, by name, with its next firing (ListCronSchedules)',
        response: {
          200: { type: 'object', properties: { schedules: { type: 'array', items: CRON_SCHEMA } } },
        },
      },
    },
    () => ({ schedules: coordinator.crons.list().map(cronJson) }),
  );
  app.post(
    '/v1/cron',
    {
      schema: {
        summary: 'Add a cron schedule; a name already taken is a 409 (AddCronSchedule)',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'expression', 'task'],
          properties: { name: { type: 'string' }, ...CRON_INPUT_PROPERTIES },
        },
        response: { 201: { type: 'object', properties: { schedule: CRON_SCHEMA } }, ...RESPONSES },
      },
    },
    async (request, reply) => {
      const body = request.body as CronBody & { name: string };
      const view = await coordinator.crons.add(cronFromBody(body.name, body), false);
      const location = `/v1/cron/${encodeURIComponent(view.name)}`;
      return reply
        .code(201)
        .header('location', location)
        .send({ schedule: cronJson(view) });
    },
  );
  app.put(
    '/v1/cron/:name',
    {
      schema: {
        summary: 'Add or replace the cron schedule of this name (AddCronSchedule, replace)',
        params: NAME_PARAMS,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['expression', 'task'],
          properties: CRON_INPUT_PROPERTIES,
        },
        response: { 200: { type: 'object', properties: { schedule: CRON_SCHEMA } }, ...RESPONSES },
      },
    },
    async (request) => {
      const { name } = request.params as { name: string };
      const view = await coordinator.crons.add(cronFromBody(name, request.body), true);
      return { schedule: cronJson(view) };
    },
  );
  registerCronByName(app, coordinator);
}

/** DELETE /v1/cron/{name} and POST /v1/cron/{name}:pause|:resume. */
function registerCronByName(app: FastifyInstance, coordinator: LeaderApi): void {
  app.delete(
    '/v1/cron/:name',
    {
      schema: {
        summary: 'Remove a cron schedule; the tasks it made stay (RemoveCronSchedule)',
        params: NAME_PARAMS,
        response: {
          200: { type: 'object', properties: { changed: { type: 'boolean' } } },
          ...RESPONSES,
        },
      },
    },
    async (request) => coordinator.crons.remove((request.params as { name: string }).name),
  );
  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/cron/:name(.+)::${action}`,
      {
        schema: {
          summary:
            action === 'pause'
              ? 'Stop a schedule firing (PauseCronSchedule)'
              : 'Let a paused schedule fire again from now on (ResumeCronSchedule)',
          params: NAME_PARAMS,
          response: {
            200: {
              type: 'object',
              properties: { schedule: CRON_SCHEMA, changed: { type: 'boolean' } },
            },
            ...RESPONSES,
          },
        },
      },
      async (request) => {
        const { name } = request.params as { name: string };
        const { schedule, changed } = await coordinator.crons.setPaused(name, action === 'pause');
        return { schedule: cronJson(schedule), changed };
      },
    );
  }
}
