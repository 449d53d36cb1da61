/**
 * What went wrong, in domain terms. `shared/grpc-status.ts` is the one place that turns a
 * kind into a gRPC status (and a later HTTP adapter into an HTTP status).
 */
export type ErrorKind =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'stale'
  | 'too_large'
  | 'no_capacity'
  | 'not_leader'
  | 'unavailable'
  | 'storage_full'
  | 'denied'
  | 'unauthenticated';

/** Base of every error the domain throws on purpose; its message is shown to the caller. */
export class DroverError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'DroverError';
  }
}

/** Input that can never succeed as given (empty payload, unknown enum). */
export class InvalidArgumentError extends DroverError {
  constructor(message: string) {
    super('invalid', message);
    this.name = 'InvalidArgumentError';
  }
}

/** A task or member id that is not known. */
export class NotFoundError extends DroverError {
  constructor(message: string) {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}

/** Something with this id already exists. */
export class ConflictError extends DroverError {
  constructor(message: string) {
    super('conflict', message);
    this.name = 'ConflictError';
  }
}

/** The request was valid once but the state has moved on (old attempt, finished task). */
export class StaleError extends DroverError {
  constructor(message: string) {
    super('stale', message);
    this.name = 'StaleError';
  }
}

/** Input over a configured size limit. */
export class TooLargeError extends DroverError {
  constructor(message: string) {
    super('too_large', message);
    this.name = 'TooLargeError';
  }
}

/** The service cannot take the request now (shutting down); retrying later may work. */
export class UnavailableError extends DroverError {
  constructor(message: string) {
    super('unavailable', message);
    this.name = 'UnavailableError';
  }
}

/**
 * This leader is not the active one (a standby, or one that stepped down). Carries the
 * active leader's addresses when known, so callers can move to it at once.
 */
export class NotLeaderError extends DroverError {
  constructor(
    message: string,
    /** The active leader's gRPC address, host:port, if known. */
    readonly leaderAddress?: string,
    /** The active leader's HTTP API address, host:port, if known. */
    readonly leaderHttpAddress?: string,
  ) {
    super('not_leader', message);
    this.name = 'NotLeaderError';
  }
}

/** The caller may not do this (a heartbeat stream without its member's session). */
export class DeniedError extends DroverError {
  constructor(message: string) {
    super('denied', message);
    this.name = 'DeniedError';
  }
}

/** No credentials, or ones the leader does not know (issue #20): UNAUTHENTICATED, 401. */
export class UnauthenticatedError extends DroverError {
  /**
   * @param challenge RFC 6750's error code for the 401's WWW-Authenticate: a token that is
   * not valid, or a request that sent its credentials wrongly; none when it sent none.
   */
  constructor(
    message: string,
    readonly challenge?: 'invalid_token' | 'invalid_request',
  ) {
    super('unauthenticated', message);
    this.name = 'UnauthenticatedError';
  }
}

/**
 * A token whose role may not make the call (issue #20): PERMISSION_DENIED / 403 with
 * RFC 6750's `insufficient_scope` challenge.
 */
export class RoleDeniedError extends DeniedError {
  constructor(message: string) {
    super(message);
    this.name = 'RoleDeniedError';
  }
}

/** A count limit is reached (open watches); retrying once some are closed may work. */
export class TooManyError extends DroverError {
  constructor(message: string) {
    super('no_capacity', message);
    this.name = 'TooManyError';
  }
}

/** The leader's disk is full: the change was not saved. */
export class StorageFullError extends DroverError {
  constructor(message: string) {
    super('storage_full', message);
    this.name = 'StorageFullError';
  }
}

/**
 * A process could not start (a busy port, an unusable address): not a domain error, so it
 * has no kind; the CLI prints its message as one line and exits 1.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The longest error message sent to a caller: gRPC sends it in a header. */
export const MAX_ERROR_MESSAGE_CHARS = 1024;

/** An error message cut to MAX_ERROR_MESSAGE_CHARS, marked when cut. */
export function boundedMessage(message: string): string {
  return message.length <= MAX_ERROR_MESSAGE_CHARS
    ? message
    : `${message.slice(0, MAX_ERROR_MESSAGE_CHARS - 15)}... (truncated)`;
}

/** Narrows an unknown thrown value to a message fit for logs. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
