import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../shared/errors.js';
import { memberIdFromWire } from '../../shared/ids.js';
import { newTaskFromWire, taskIdFromWire } from '../grpc/task-wire.js';
import type { TaskRecord } from '../../scheduler/task.js';
import type { LeaderApi } from '../leader-api.js';
import { jsonBodyParser } from './json-body.js';
import { ERROR_SCHEMA, ID_PARAMS, taskFromBody, TASK_INPUT_SCHEMA } from './schemas.js';

// The HTTP routes of the systems drover grew from, mapped onto the same scheduler:
// Koray Gocmen's scheduler (POST /start, /stop, /query, a command on a chosen worker) and
// the 2017 Go job dispatcher (/start-job returns an id, /status/<id> its state).

const string = { type: 'string', minLength: 1 } as const;
const JOB_ON_WORKER = {
  type: 'object',
  additionalProperties: false,
  required: ['worker_id', 'job_id'],
  properties: { worker_id: string, job_id: string },
} as const;

/**
 * The payload of a job queued with no payload, as the dispatcher's clients queue them: any
 * worker's demo handler works its default time on it.
 */
const DEFAULT_JOB_PAYLOAD = 'start-job';

/** /start-job's body: a task as POST /v1/tasks takes it, all optional (no body at all is fine). */
const START_JOB_SCHEMA = { ...TASK_INPUT_SCHEMA, required: [] } as const;

/**
 * The seed routes, in a scope of their own: the seeds' clients send JSON with any content
 * type (curl -d says application/x-www-form-urlencoded, and both seeds read the body as
 * JSON whatever the header) or none. The /v1 API keeps its strict JSON-only rule.
 */
export function registerSeedRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  void app.register((scope, _options, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(
      '*',
      { parseAs: 'buffer' },
      jsonBodyParser(scope, { emptyIsUndefined: true }),
    );
    registerRoutes(scope, coordinator);
    done();
  });
}

function registerRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  registerStart(app, coordinator);
  registerStop(app, coordinator);
  registerQuery(app, coordinator);
  registerStartJob(app, coordinator);
  registerStatus(app, coordinator);
}

/** The job, which must be one that was pinned to (and so runs on) this worker. */
function jobOn(coordinator: LeaderApi, workerId: string, jobId: string): TaskRecord {
  const task = coordinator.getTask(taskIdFromWire(jobId));
  if (task.targetMemberId !== workerId) {
    throw new NotFoundError(`job ${jobId} was not started on worker ${workerId}`);
  }
  return task;
}

function registerStart(app: FastifyInstance, coordinator: LeaderApi): void {
  app.post(
    '/start',
    {
      schema: {
        summary:
          'Run `command path` on one worker (seed: Koray Gocmen); the command must be allow-listed there',
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['worker_id', 'command'],
          properties: {
            worker_id: string,
            command: string,
            path: {
              type: 'string',
              description: 'the script or file the command runs, its one argument',
            },
            args: {
              type: 'array',
              items: { type: 'string' },
              description: 'more arguments, after path',
            },
          },
        },
        response: {
          201: { type: 'object', properties: { job_id: { type: 'string' } } },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        worker_id: string;
        command: string;
        path?: string;
        args?: string[];
      };
      const args = [
        ...(body.path === undefined || body.path === '' ? [] : [body.path]),
        ...(body.args ?? []),
      ];
      const task = await coordinator.startCommand(
        memberIdFromWire(body.worker_id, 'worker_id'),
        body.command,
        args,
      );
      // 201 Created, as the seed's own server answers.
      return reply.code(201).send({ job_id: task.id });
    },
  );
}

function registerStop(app: FastifyInstance, coordinator: LeaderApi): void {
  app.post(
    '/stop',
    {
      schema: {
        summary: 'Stop a job started with /start (CancelTask)',
        body: JOB_ON_WORKER,
        response: {
          200: {
            type: 'object',
            properties: {
              success: { type: 'boolean', description: 'true: the job is stopped (the seed)' },
              job_id: { type: 'string' },
              status: { type: 'string' },
            },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const body = request.body as { worker_id: string; job_id: string };
      const task = jobOn(coordinator, body.worker_id, body.job_id);
      const { task: cancelled } = await coordinator.cancelTask(task.id);
      return { success: true, job_id: cancelled.id, status: cancelled.status };
    },
  );
}

function registerQuery(app: FastifyInstance, coordinator: LeaderApi): void {
  app.post(
    '/query',
    {
      schema: {
        summary: 'Whether a job started with /start is done, and how it ended',
        body: JOB_ON_WORKER,
        response: {
          200: {
            type: 'object',
            properties: {
              done: { type: 'boolean' },
              error: { type: 'boolean' },
              error_text: { type: 'string' },
              status: { type: 'string' },
              output: {
                type: 'string',
                description: 'the command result: exit code, stdout, stderr',
              },
            },
          },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    (request) => {
      const body = request.body as { worker_id: string; job_id: string };
      const task = jobOn(coordinator, body.worker_id, body.job_id);
      const done =
        task.status === 'completed' || task.status === 'error' || task.status === 'cancelled';
      const failed = task.status === 'error' || task.status === 'cancelled';
      return {
        done,
        error: failed,
        error_text: failed ? (task.error ?? task.status) : '',
        status: task.status,
        output: task.result ?? '',
      };
    },
  );
}

function registerStartJob(app: FastifyInstance, coordinator: LeaderApi): void {
  // Any method, as the 2017 dispatcher's http.HandleFunc takes it; with no body, a demo job.
  // Fastify reads no body on GET, so GET has no body schema; HEAD and OPTIONS create
  // nothing (link checkers and CORS preflights must not queue work).
  const startJob = async (body: unknown): Promise<{ id: string }> => {
    const input = { payload: DEFAULT_JOB_PAYLOAD, ...(body ?? {}) };
    const { task } = await coordinator.scheduleTask(newTaskFromWire(taskFromBody(input)));
    return { id: task.id };
  };
  const startJobSchema = {
    summary:
      'Queue a job (seed: the 2017 dispatcher), by any method, with or without a body; returns its id',
    response: {
      200: { type: 'object', properties: { id: { type: 'string' } } },
      '4xx': ERROR_SCHEMA,
      '5xx': ERROR_SCHEMA,
    },
  };
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/start-job',
    // A body-less request reaches validation as undefined; it means "all defaults".
    preValidation: (request, _reply, done) => {
      request.body ??= {};
      done();
    },
    schema: { ...startJobSchema, body: START_JOB_SCHEMA },
    handler: (request) => startJob(request.body),
  });
  app.route({
    method: 'GET',
    url: '/start-job',
    exposeHeadRoute: false,
    schema: startJobSchema,
    handler: () => startJob(undefined),
  });
}

function registerStatus(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/status/:id',
    {
      schema: {
        summary: 'A job queued with /start-job: its state, result and error',
        params: ID_PARAMS,
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'string' },
              status: { type: 'string' },
              attempt: { type: 'integer' },
              result: { type: 'string' },
              error: { type: 'string' },
            },
          },
          '4xx': ERROR_SCHEMA,
        },
      },
    },
    (request) => {
      const task = coordinator.getTask(taskIdFromWire((request.params as { id: string }).id));
      return {
        id: task.id,
        status: task.status,
        attempt: task.attempt,
        result: task.result,
        error: task.error,
      };
    },
  );
}
