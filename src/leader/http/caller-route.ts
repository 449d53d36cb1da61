import type { FastifyInstance } from 'fastify';
import { UnauthenticatedError } from '../../shared/errors.js';
import { bearerToken, type Tokens } from '../auth/token-file.js';
import { ERROR_SCHEMA, NO_QUERY } from './schemas.js';

/** Who is calling, as /v1/whoami answers. */
const CALLER_SCHEMA = {
  type: 'object',
  properties: {
    role: { type: 'string', enum: ['read', 'write', 'admin', 'worker'] },
    name: { type: 'string' },
    tokens: { type: 'boolean' },
  },
} as const;

/**
 * /v1/whoami: the role of the caller's token (issue #20), so a client such as the
 * dashboard offers only what that role may do instead of letting each action be refused.
 * Any token the leader knows may ask, a worker's join token too (a script checking which
 * token it was given).
 * A leader with no tokens lets every caller do everything: `admin`, `tokens: false`.
 */
export function registerCallerRoute(app: FastifyInstance, tokens: Tokens | undefined): void {
  app.get(
    '/v1/whoami',
    {
      schema: {
        summary: "The caller's token: its name and role (read, write, admin or worker)",
        querystring: NO_QUERY,
        response: { 200: CALLER_SCHEMA, '4xx': ERROR_SCHEMA },
      },
    },
    (request) => {
      if (tokens === undefined) return { role: 'admin', name: '', tokens: false };
      // The auth hook let this request through, so its one header holds a known token.
      const entry = tokens.find(bearerToken(request.headers.authorization) ?? '');
      if (entry === undefined)
        throw new UnauthenticatedError('the token is not one this leader knows');
      return { role: entry.role, name: entry.name, tokens: true };
    },
  );
}
