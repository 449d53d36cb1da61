import type { FastifyInstance } from 'fastify';
import { InvalidArgumentError } from '../../shared/errors.js';
import { GetTasksRequest } from '../../gen/scheduler/v1/scheduler.js';
import {
  newTaskFromWire,
  nextPageToken,
  taskIdFromWire,
  taskQueryFromWire,
} from '../grpc/task-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { headerMetadata, withCallTrace } from '../tracing/trace-carrier.js';
import {
  ERROR_SCHEMA,
  ID_PARAMS,
  statusQueryParam,
  taskFromBody,
  taskJson,
  TASK_INPUT_SCHEMA,
  TASK_SCHEMA,
} from './schemas.js';
import { taskAfterWait, waitParamMs } from './task-wait.js';

const LIST_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      type: 'string',
      description:
        'TASK_STATUS_SCHEDULED, ..._PENDING, ..._RUNNING, ..._COMPLETED, ..._CANCELLED or ..._ERROR (or scheduled, pending, ...)',
    },
    memberId: { type: 'string' },
    kind: { type: 'string' },
    newestFirst: {
      type: 'string',
      enum: ['true', 'false'],
      description: 'true: the most recently scheduled task first',
    },
    pageSize: { type: 'string', pattern: '^[0-9]{1,9}$', description: 'at most 1000; 0 means 100' },
    pageToken: { type: 'string' },
  },
} as const;

/** A task after POST :cancel: the task's fields and CancelTaskResponse's two flags. */
const CANCELLED_TASK_SCHEMA = {
  ...TASK_SCHEMA,
  properties: {
    ...TASK_SCHEMA.properties,
    stopSent: { type: 'boolean', description: "this call told the task's worker to stop it" },
    alreadyCancelled: {
      type: 'boolean',
      description: 'the task was cancelled before this call, which changed nothing',
    },
  },
} as const;

/** /v1/tasks: schedule, list, get, cancel and delete, over the coordinator. */
export function registerTaskRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  registerScheduleTask(app, coordinator);
  registerListTasks(app, coordinator);
  registerTaskById(app, coordinator);
}

function registerScheduleTask(app: FastifyInstance, coordinator: LeaderApi): void {
  app.post(
    '/v1/tasks',
    {
      schema: {
        summary: 'Schedule a task (ScheduleTask)',
        body: TASK_INPUT_SCHEMA,
        headers: {
          type: 'object',
          properties: {
            'idempotency-key': {
              type: 'string',
              description: 'the idempotency key, when the body names none',
            },
          },
        },
        response: {
          201: {
            description: 'scheduled',
            type: 'object',
            properties: { id: { type: 'string' } },
          },
          200: {
            description: 'the idempotency key was held: that task, nothing scheduled',
            type: 'object',
            properties: { id: { type: 'string' }, existing: { type: 'boolean' } },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const input = taskFromBody(request.body);
      // The Idempotency-Key header (as Stripe and the IETF draft name it) stands in for a
      // body without one; both at once must agree.
      const header = idempotencyKeyHeader(request.raw.rawHeaders);
      if (header !== undefined) {
        if (input.idempotencyKey !== '' && input.idempotencyKey !== header) {
          throw new InvalidArgumentError(
            "the Idempotency-Key header and the body's idempotency key differ; send one",
          );
        }
        input.idempotencyKey = header;
      }
      // A W3C traceparent header makes the task's spans part of the caller's trace.
      const { task, existing } = await coordinator.scheduleTask(
        withCallTrace(newTaskFromWire(input), headerMetadata(request.headers)),
      );
      const location = `/v1/tasks/${encodeURIComponent(task.id)}`;
      if (existing)
        return reply.code(200).header('location', location).send({ id: task.id, existing });
      return reply.code(201).header('location', location).send({ id: task.id });
    },
  );
}

function registerListTasks(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/tasks',
    {
      schema: {
        summary: 'List tasks in the order they were scheduled (GetTasks)',
        querystring: LIST_QUERY,
        response: {
          200: {
            type: 'object',
            properties: {
              tasks: { type: 'array', items: TASK_SCHEMA },
              nextPageToken: { type: 'string' },
            },
          },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    (request) => {
      const query = request.query as Record<string, string | undefined>;
      const page = coordinator.listTasks(
        taskQueryFromWire(
          GetTasksRequest.fromJSON({
            ...query,
            status: statusQueryParam(query['status']),
            newestFirst: query['newestFirst'] === 'true',
          }),
        ),
      );
      const tasks = page.tasks.map((task) => taskJson(task, coordinator.waitingReason(task)));
      return { tasks, nextPageToken: nextPageToken(page) };
    },
  );
}

/** One task by id: get it, cancel it, delete it. */
function registerGetTask(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'One task (GetTask); with ?wait=30s, once it has ended (a long poll)',
        params: ID_PARAMS,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            wait: {
              type: 'string',
              description:
                'wait up to this long (30s, 2m; at most 5m) for the task to end; the task as it is then',
            },
          },
        },
        response: { 200: TASK_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request, reply) => {
      const id = taskIdFromWire((request.params as { id: string }).id);
      const waitMs = waitParamMs((request.query as { wait?: string }).wait);
      const task = await taskAfterWait(coordinator, id, waitMs, request, reply);
      return taskJson(task, coordinator.waitingReason(task));
    },
  );
}

function registerTaskById(app: FastifyInstance, coordinator: LeaderApi): void {
  registerGetTask(app, coordinator);
  app.post(
    // The id is every character up to the last ':' (ids may hold colons): `::` is a literal.
    '/v1/tasks/:id(.+)::cancel',
    {
      schema: {
        summary: 'Cancel a pending task or stop a running one (CancelTask)',
        description:
          'The task as it is after the cancel, with stopSent (its worker was told to stop ' +
          'it) and alreadyCancelled (it was cancelled before: nothing changed)',
        params: ID_PARAMS,
        response: { 200: CANCELLED_TASK_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request) => {
      const outcome = await coordinator.cancelTask(
        taskIdFromWire((request.params as { id: string }).id),
      );
      // CancelTaskResponse's two flags beside the task's fields, so a repeated cancel (a
      // retry after a timeout, say) can tell it changed nothing, as a gRPC caller can.
      return {
        ...(taskJson(outcome.task) as object),
        stopSent: outcome.stopSent,
        alreadyCancelled: outcome.alreadyCancelled,
      };
    },
  );

  app.delete(
    '/v1/tasks/:id',
    {
      schema: {
        summary: 'Forget a finished task now (DeleteTask); an open task is 409: cancel it first',
        params: ID_PARAMS,
        response: { 200: TASK_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request) =>
      taskJson(await coordinator.deleteTask(taskIdFromWire((request.params as { id: string }).id))),
  );
}

/**
 * The Idempotency-Key header's key, if one was sent. The IETF draft makes the value a
 * structured-field string (`"key"`); plain `key`, as Stripe takes it, is read too. Sent
 * empty or more than once, it is refused rather than ignored or joined.
 */
function idempotencyKeyHeader(rawHeaders: readonly string[]): string | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() === 'idempotency-key') values.push(rawHeaders[i + 1]!);
  }
  if (values.length === 0) return undefined;
  if (values.length > 1) {
    throw new InvalidArgumentError(
      `the Idempotency-Key header was sent ${values.length} times; send it once`,
    );
  }
  const value = headerText(values[0]!).trim();
  const key = /^"(.*)"$/.exec(value)?.[1] ?? value;
  if (key === '') throw new InvalidArgumentError('the Idempotency-Key header is empty');
  return key;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A header value as the text its bytes spell in UTF-8. Node hands header values over byte
 * by byte (latin1), so `café` sent in UTF-8 arrived as `cafÃ©`, a key the same key in a
 * JSON body never matched; bytes that are not UTF-8 are refused rather than guessed.
 */
function headerText(raw: string): string {
  if (!/[^\p{ASCII}]/u.test(raw)) return raw;
  try {
    return STRICT_UTF8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    throw new InvalidArgumentError('the Idempotency-Key header is not valid UTF-8');
  }
}
