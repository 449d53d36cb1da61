import type { Logger } from 'pino';
import {
  boundedMessage,
  DroverError,
  NotLeaderError,
  RoleDeniedError,
  UnauthenticatedError,
  type ErrorKind,
} from './errors.js';
import { LEADER_HTTP_HEADER, LEADER_METADATA_KEY, LEADER_ROLE_KEY } from './leader-hint.js';

const HTTP_STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  stale: 409,
  too_large: 413,
  no_capacity: 429,
  not_leader: 503,
  unavailable: 503,
  // 507 Insufficient Storage (RFC 4918): the server cannot store what the request needs.
  storage_full: 507,
  denied: 403,
  unauthenticated: 401,
};

/** An HTTP error answer: the status, any headers, and the `{"error": ...}` body. */
export interface HttpError {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: { readonly error: string };
}

/**
 * Turns anything a route threw into an HTTP answer: the only place a kind becomes an HTTP
 * status (as `grpc-status.ts` is for gRPC). Domain errors keep their message; anything
 * else is a bug, so the caller sees a generic 500 and the cause goes to the log.
 */
export function toHttpError(err: unknown, logger: Logger): HttpError {
  if (err instanceof DroverError) {
    return {
      statusCode: HTTP_STATUS_BY_KIND[err.kind],
      headers: errorHeaders(err),
      body: { error: boundedMessage(err.message) },
    };
  }
  logger.error({ err }, 'unexpected error in HTTP route');
  return { statusCode: 500, headers: {}, body: { error: 'internal error; see the leader log' } };
}

/** Headers of a refusal: a leader that is not active names the one that is. */
export function errorHeaders(err: DroverError): Record<string, string> {
  // RFC 6750: a 401 names the scheme the client should use.
  if (err instanceof RoleDeniedError) {
    return { 'www-authenticate': 'Bearer realm="drover", error="insufficient_scope"' };
  }
  if (err instanceof UnauthenticatedError) {
    const error = err.challenge === undefined ? '' : `, error="${err.challenge}"`;
    return { 'www-authenticate': `Bearer realm="drover"${error}` };
  }
  if (!(err instanceof NotLeaderError)) return {};
  return {
    // A client with no other leader to try may come back here in a second (a takeover, or
    // the named leader, is that far away).
    'retry-after': '1',
    [LEADER_ROLE_KEY]: 'standby',
    ...(err.leaderAddress === undefined ? {} : { [LEADER_METADATA_KEY]: err.leaderAddress }),
    ...(err.leaderHttpAddress === undefined ? {} : { [LEADER_HTTP_HEADER]: err.leaderHttpAddress }),
  };
}
