import { DeniedError, UnauthenticatedError } from '../../shared/errors.js';
import { allows, type Need } from './roles.js';
import { bearerToken, type Tokens } from './token-file.js';

/**
 * Checks a call's `authorization` value against what it needs; throws UNAUTHENTICATED
 * (no or unknown token) or PERMISSION_DENIED (a token whose role may not), naming the
 * role needed and never the token. Returns the token's name for logs.
 */
export function authorize(tokens: Tokens, need: Need, authorization: string | undefined): string {
  if (need === 'public') return '';
  const token = bearerToken(authorization);
  if (token === undefined) {
    throw new UnauthenticatedError(
      'this leader needs a token: send "authorization: Bearer <token>" (drover --token, DROVER_TOKEN)',
    );
  }
  const entry = tokens.find(token);
  if (entry === undefined) throw new UnauthenticatedError('the token is not one this leader knows');
  if (!allows(entry.role, need)) {
    throw new DeniedError(`token "${entry.name}" has role ${entry.role}; this needs ${need}`);
  }
  return entry.name;
}
