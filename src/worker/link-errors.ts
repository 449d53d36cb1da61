import { status, type ServiceError } from '@grpc/grpc-js';
import { connectionFailure, sentByLeader, unreachableHint } from '../shared/connection-details.js';
import { ConflictError, InvalidArgumentError } from '../shared/errors.js';

/** Raised when the leader could not be reached for longer than `giveUpAfterMs`. */
export class LeaderUnreachableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaderUnreachableError';
  }
}

/**
 * The leader refused Join because another live worker process uses this id. Retrying
 * cannot help (the other process keeps it): it is a configuration error, and the CLI exits
 * 2 with this one line (issue #14).
 */
export class WorkerIdInUseError extends ConflictError {
  constructor(id: string, details: string) {
    super(
      `worker id "${id}" is already in use by another worker process (${details}); ` +
        'give each worker its own --id (DROVER_WORKER_ID; SDK option id)',
    );
    this.name = 'WorkerIdInUseError';
  }
}

/** Raised when the leader refuses the worker's Join as invalid (a bad id, too many slots). */
export class WorkerRefusedError extends InvalidArgumentError {
  constructor(details: string) {
    super(`the leader refused this worker: ${details}; fix the worker's settings`);
    this.name = 'WorkerRefusedError';
  }
}

/**
 * The leader did not admit the worker (issue #20): its join token (none, unknown, not role
 * worker) or its client certificate's name (`--worker-cert-name` on the leader).
 */
export class WorkerTokenRefusedError extends InvalidArgumentError {
  constructor(details: string) {
    super(
      /certificate/.test(details)
        ? `the leader did not admit this worker (${details}); give it a client certificate (--tls-cert/--tls-key) with a name the leader's --worker-cert-name lists, or a join token`
        : `the leader refused this worker's token (${details}); give it a join token: --token or DROVER_TOKEN, from drover token create --role worker`,
    );
    this.name = 'WorkerTokenRefusedError';
  }
}

/**
 * The error to stop on when a Join failed with `err`, or undefined when another round may
 * succeed (the leader was unreachable, busy, not the leader).
 */
export function joinRefusal(err: unknown, workerId: string): Error | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { code, details } = err as Partial<ServiceError>;
  if (code === status.ALREADY_EXISTS) return new WorkerIdInUseError(workerId, details ?? '');
  // The leader answered and refused what this worker claims (its id, slots, kinds): a
  // configuration error that no retry can fix.
  if (code === status.INVALID_ARGUMENT) return new WorkerRefusedError(details ?? '');
  // A leader with tokens (issue #20) that does not take this worker's: no retry gives it one.
  if (code === status.UNAUTHENTICATED || code === status.PERMISSION_DENIED) {
    return new WorkerTokenRefusedError(details ?? '');
  }
  return undefined;
}

/** A failed round, for the log and (as one line) for the give-up message. */
export function describeFailure(address: string, err: unknown) {
  const details = connectionFailure(err);
  // A refusal the leader sent (a standby, a database away) is no fault to fix here; a
  // connection that failed says what to check.
  const hint = sentByLeader(err) ? undefined : unreachableHint(details);
  const line = `${address}: ${details}${hint === undefined ? '' : ` (${hint})`}`;
  return { fields: { address, err: details, hint }, line };
}
