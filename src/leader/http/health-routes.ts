import type { FastifyInstance } from 'fastify';
import type { LeaderApi } from '../leader-api.js';

const STATUS = {
  type: 'object',
  properties: { status: { type: 'string' } },
} as const;

/**
 * Liveness and readiness for load balancers and orchestrators: /healthz answers while the
 * process serves HTTP at all; /readyz only while the leader takes work (its task list is
 * loaded and it is not shutting down).
 */
export function registerHealthRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: STATUS } } }, () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: 503 while starting or shutting down',
        response: { 200: STATUS, 503: STATUS },
      },
    },
    (_request, reply) =>
      coordinator.ready
        ? reply.send({ status: 'ready' })
        : reply.code(503).send({ status: 'not ready' }),
  );
}
