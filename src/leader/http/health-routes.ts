import type { FastifyInstance } from 'fastify';
import { errorHeaders } from '../../shared/http-status.js';
import type { LeaderApi } from '../leader-api.js';

const STATUS = {
  type: 'object',
  properties: { status: { type: 'string' }, message: { type: 'string' } },
} as const;

/**
 * Liveness and readiness for load balancers and orchestrators: /healthz answers while the
 * process serves HTTP at all; /readyz only while the leader takes work (its task list is
 * loaded, it is not a standby, and it is not shutting down).
 */
export function registerHealthRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get('/healthz', { schema: { summary: 'Liveness', response: { 200: STATUS } } }, () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    {
      schema: {
        summary:
          'Readiness: 503 while starting, standing by (a standby of a group) or shutting down',
        response: { 200: STATUS, 503: STATUS },
      },
    },
    (_request, reply) => {
      if (coordinator.ready) return reply.send({ status: 'ready' });
      // A standby says so, and names the active leader as every refusal of its does.
      const standby = coordinator.standbyRefusal?.();
      if (standby === undefined) return reply.code(503).send({ status: 'not ready' });
      return reply
        .code(503)
        .headers(errorHeaders(standby))
        .send({ status: 'standby', message: standby.message });
    },
  );
}
