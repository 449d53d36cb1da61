import { RoleDeniedError, UnauthenticatedError } from '../../shared/errors.js';
import { allows, type Need } from './roles.js';
import { bearerToken, type Tokens } from './token-file.js';

/**
 * Checks a call's `authorization` value against what it needs; throws UNAUTHENTICATED
 * (no or unknown token) or PERMISSION_DENIED (a token whose role may not), naming the
 * role needed and never the token. Returns the token's name for logs.
 */
export function authorize(tokens: Tokens, need: Need, headers: readonly string[]): string {
  if (need === 'public') return '';
  // Two headers: which one counts would be up to whichever proxy reads it. Refused.
  if (headers.length > 1) {
    throw new UnauthenticatedError(
      `send one authorization header, not ${headers.length}`,
      'invalid_request',
    );
  }
  const authorization = headers[0];
  if (authorization === undefined) {
    throw new UnauthenticatedError(
      'this leader needs a token: send "authorization: Bearer <token>" (drover --token, DROVER_TOKEN)',
    );
  }
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new UnauthenticatedError(
      'the authorization header is not "Bearer <token>"',
      'invalid_request',
    );
  }
  const entry = tokens.find(token);
  if (entry === undefined) {
    throw new UnauthenticatedError('the token is not one this leader knows', 'invalid_token');
  }
  if (!allows(entry.role, need)) {
    throw new RoleDeniedError(`token "${entry.name}" has role ${entry.role}; this needs ${need}`);
  }
  return entry.name;
}
