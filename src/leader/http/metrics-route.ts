import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

/**
 * `GET /metrics`: the leader's Prometheus metrics in the text exposition format (issue
 * #19), on the same listener (and TLS) as the rest of the HTTP API.
 */
export function registerMetricsRoute(app: FastifyInstance, registry: Registry): void {
  app.get(
    '/metrics',
    { schema: { summary: 'Prometheus metrics (text exposition format)', hide: false } },
    async (_request, reply) => {
      const text = await registry.metrics();
      return reply.header('content-type', registry.contentType).send(text);
    },
  );
}
