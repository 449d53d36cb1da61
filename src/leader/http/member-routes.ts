import type { FastifyInstance } from 'fastify';
import { memberIdFromWire } from '../../shared/ids.js';
import type { LeaderApi } from '../leader-api.js';
import { ERROR_SCHEMA, ID_PARAMS, MEMBER_SCHEMA, memberJson } from './schemas.js';

/** /v1/members: the Members listing, and Drain. */
export function registerMemberRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/members',
    {
      schema: {
        summary: 'Every known member with its state and load (Members)',
        response: {
          200: { type: 'object', properties: { members: { type: 'array', items: MEMBER_SCHEMA } } },
        },
      },
    },
    () => ({ members: coordinator.members().map(memberJson) }),
  );

  app.post(
    '/v1/members/:id(.+)::drain',
    {
      schema: {
        summary: 'No new work to a member; its running tasks finish (Drain)',
        params: ID_PARAMS,
        response: { 200: MEMBER_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    (request) =>
      memberJson(coordinator.drain(memberIdFromWire((request.params as { id: string }).id))),
  );
}
