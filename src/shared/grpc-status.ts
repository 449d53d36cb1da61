import { status, type ServiceError, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { boundedMessage, DroverError, NotLeaderError, type ErrorKind } from './errors.js';
import { LEADER_METADATA_KEY, LEADER_ROLE_KEY } from './leader-hint.js';

const STATUS_BY_KIND: Readonly<Record<ErrorKind, status>> = {
  invalid: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  stale: status.FAILED_PRECONDITION,
  too_large: status.RESOURCE_EXHAUSTED,
  no_capacity: status.RESOURCE_EXHAUSTED,
  not_leader: status.UNAVAILABLE,
  unavailable: status.UNAVAILABLE,
  storage_full: status.RESOURCE_EXHAUSTED,
  denied: status.PERMISSION_DENIED,
  unauthenticated: status.UNAUTHENTICATED,
};

/** A status object grpc-js accepts as the error of a call. */
export type StatusError = Partial<ServiceError> & { code: status; details: string };

/**
 * Turns anything a handler threw into a gRPC status: the only place a kind becomes a code.
 * Domain errors keep their message; aborts become CANCELLED; anything else is a bug, so the
 * caller sees a generic INTERNAL and the cause goes to the log.
 */
export function toGrpcStatus(err: unknown, logger: Logger): StatusError {
  if (err instanceof DroverError) {
    return {
      code: STATUS_BY_KIND[err.kind],
      details: boundedMessage(err.message),
      metadata: errorMetadata(err),
    };
  }
  if (err instanceof Error && err.name === 'AbortError') {
    return { code: status.CANCELLED, details: 'the call was cancelled', metadata: new Metadata() };
  }
  logger.error({ err }, 'unexpected error in handler');
  return { code: status.INTERNAL, details: 'internal error; see the leader log' };
}

/** Trailers of a refusal: a leader that is not active names the one that is. */
function errorMetadata(err: DroverError): Metadata {
  const metadata = new Metadata();
  if (err instanceof NotLeaderError) {
    metadata.set(LEADER_ROLE_KEY, 'standby');
    if (err.leaderAddress !== undefined) metadata.set(LEADER_METADATA_KEY, err.leaderAddress);
  }
  return metadata;
}
