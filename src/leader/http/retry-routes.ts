import type { FastifyInstance } from 'fastify';
import { taskIdFromWire } from '../grpc/task-wire.js';
import type { LeaderApi } from '../leader-api.js';
import { ERROR_SCHEMA, ID_PARAMS, TASK_SCHEMA, taskJson } from './schemas.js';

/** POST /v1/tasks/{id}:retry and /v1/kinds/{kind}:retry-failed (RetryTask, RetryFailedTasks). */
export function registerRetryRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.post(
    '/v1/tasks/:id(.+)::retry',
    {
      schema: {
        summary: 'Re-run a failed task as a new series of attempts (RetryTask)',
        params: ID_PARAMS,
        response: { 200: TASK_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    async (request) => {
      const id = taskIdFromWire((request.params as { id: string }).id);
      const [task] = await coordinator.rerunTasks({ id });
      return taskJson(task!);
    },
  );

  app.post(
    '/v1/kinds/:kind(.+)::retry-failed',
    {
      schema: {
        summary: 'Re-run the failed tasks of a kind, oldest first, up to 10,000 (RetryFailedTasks)',
        params: {
          type: 'object',
          properties: { kind: { type: 'string', minLength: 1 } },
          required: ['kind'],
        },
        response: {
          200: {
            type: 'object',
            properties: { ids: { type: 'array', items: { type: 'string' } } },
          },
          '4xx': ERROR_SCHEMA,
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async (request) => {
      const tasks = await coordinator.rerunTasks({
        kind: (request.params as { kind: string }).kind,
      });
      return { ids: tasks.map((task) => task.id) };
    },
  );
}
