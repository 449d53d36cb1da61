import type { FastifyInstance } from 'fastify';
import { memberIdFromWire } from '../../shared/ids.js';
import type { LeaderApi } from '../leader-api.js';
import type { LeaderDirectory } from '../leader-role.js';
import { ERROR_SCHEMA, ID_PARAMS, MEMBER_SCHEMA, memberJson, NO_QUERY } from './schemas.js';

/** A leader of the group as JSON (the Leaders RPC's fields). */
const LEADER_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    address: { type: 'string' },
    httpAddress: { type: 'string' },
    role: { type: 'string', enum: ['active', 'standby', 'gone'] },
    term: { type: 'integer' },
    leaseAgeMs: { type: 'integer' },
    seenAgoMs: { type: 'integer' },
  },
} as const;

/** /v1/leaders: every leader process and which one is active; standbys answer too. */
export function registerLeaderRoutes(app: FastifyInstance, directory: LeaderDirectory): void {
  app.get(
    '/v1/leaders',
    {
      schema: {
        summary: 'The leaders of the group, their roles, terms and lease ages (Leaders)',
        querystring: NO_QUERY,
        response: {
          200: { type: 'object', properties: { leaders: { type: 'array', items: LEADER_SCHEMA } } },
          '5xx': ERROR_SCHEMA,
        },
      },
    },
    async () => ({ leaders: await directory.leaders() }),
  );
}

/** /v1/members: the Members listing, and Drain. */
export function registerMemberRoutes(app: FastifyInstance, coordinator: LeaderApi): void {
  app.get(
    '/v1/members',
    {
      schema: {
        summary: 'Every known member with its state and load (Members)',
        querystring: NO_QUERY,
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

  app.post(
    '/v1/members/:id(.+)::undrain',
    {
      schema: {
        summary: "End an operator's drain: the member takes new work again (Undrain)",
        params: ID_PARAMS,
        response: { 200: MEMBER_SCHEMA, '4xx': ERROR_SCHEMA, '5xx': ERROR_SCHEMA },
      },
    },
    (request) =>
      memberJson(coordinator.undrain(memberIdFromWire((request.params as { id: string }).id))),
  );
}
