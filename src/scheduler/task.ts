import { InvalidArgumentError } from '../shared/errors.js';
import type { MemberId, TaskId } from '../shared/ids.js';
import { echo } from '../shared/text.js';

/**
 * Where a task is in its life. `scheduled` waits for its run time (a delayed task),
 * `pending` for a slot; `completed`, `cancelled` and `error` are final.
 */
export type TaskStatus = 'scheduled' | 'pending' | 'running' | 'completed' | 'cancelled' | 'error';

/**
 * The only task status changes there are; every change goes through
 * {@link checkTaskTransition}, and anything else is a bug and throws.
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  // Due (it joins the queue); cancelled; handed ahead to a worker that starts it at its run
  // time (timed start), or re-attached by the worker that holds it so.
  scheduled: ['pending', 'cancelled', 'running'],
  // Assigned; cancelled; a late report of an attempt that was requeued (its member was
  // lost) completes or fails it; a requeued task on its last attempt fails when another
  // start is due.
  pending: ['running', 'cancelled', 'completed', 'error'],
  // Finished; cancelled (its worker is told to stop); back in the queue (a retry, or its
  // member was lost); back to waiting for its run time (its member was lost while it held
  // the task as a timed start, before the run time).
  running: ['completed', 'error', 'cancelled', 'pending', 'scheduled'],
  completed: [],
  // Re-run by an operator (a dead letter): a new series of attempts.
  error: ['pending'],
  cancelled: [],
};

/** Raised for a task status change the table does not allow. */
export class InvalidTaskTransitionError extends Error {
  constructor(
    readonly from: TaskStatus,
    readonly to: TaskStatus,
  ) {
    super(`a task cannot go from ${from} to ${to}`);
    this.name = 'InvalidTaskTransitionError';
  }
}

/** Throws unless the table allows `from -> to`; staying in a status is always allowed. */
export function checkTaskTransition(from: TaskStatus, to: TaskStatus): void {
  if (from !== to && !TASK_TRANSITIONS[from].includes(to)) {
    throw new InvalidTaskTransitionError(from, to);
  }
}

/**
 * One attempt's identity, as a map key: the task id and the attempt number. Completion
 * reports are idempotent per attempt, so the leader and the worker key their books by it.
 */
export function attemptKey(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}

/** Queue priority; higher runs first. */
export type Priority = 'low' | 'medium' | 'high';

/** Priorities as numbers, higher first-served. */
export const PRIORITY_RANK: Readonly<Record<Priority, number>> = { low: 1, medium: 2, high: 3 };

/** Priorities from first-served to last. */
export const PRIORITIES_HIGH_FIRST: readonly Priority[] = ['high', 'medium', 'low'];

/** The kind a task gets when it names none. */
export const DEFAULT_KIND = 'default';

const KIND_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** A task kind (and a worker's handler name): 1-64 letters, digits, '.', '_', ':' or '-'. */
export function isValidKind(kind: string): boolean {
  return KIND_PATTERN.test(kind);
}

/** Throws INVALID_ARGUMENT, saying what a kind may be, unless `kind` is one; `what` names it. */
export function checkKind(kind: string, what = 'kind'): void {
  if (!isValidKind(kind)) {
    throw new InvalidArgumentError(
      `${what} ${echo(kind)} is not valid: use 1-64 letters, digits, '.', '_', ':' or '-'`,
    );
  }
}

const CONCURRENCY_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:@=+-]{0,127}$/;

/**
 * Throws INVALID_ARGUMENT unless `key` is a concurrency key: 1-128 letters, digits and
 * '.', '_', ':', '@', '=', '+' or '-' (no '/', so a key is one segment of an HTTP path).
 */
export function checkConcurrencyKey(key: string, what = 'concurrency key'): void {
  if (!CONCURRENCY_KEY_PATTERN.test(key)) {
    throw new InvalidArgumentError(
      `${what} ${echo(key)} is not valid: use 1-128 letters, digits, '.', '_', ':', '@', '=', '+' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * One attempt as the leader's attempt log keeps it (src/leader/attempt-log.ts fills it in;
 * the scheduler never reads it).
 */
export interface AttemptLogEntry {
  readonly attempt: number;
  readonly memberId: string | undefined;
  readonly startedAtMs: number | undefined;
  endedAtMs?: number | undefined;
  outcome?: string | undefined;
  error?: string | undefined;
  /** Closed only because its worker was lost: a re-attach reopens it, a late report ends it. */
  byLoss?: true | undefined;
  /** When its worker said it began it (the leader's time), once it did. */
  begunAtMs?: number | undefined;
}

/**
 * Everything the leader knows about a task, and exactly what a durable store must keep:
 * a leader rebuilt from these records alone has the same queue order, attempts and results.
 */
export interface TaskRecord {
  readonly id: TaskId;
  /** Creation order; listings sort by it. */
  readonly seq: number;
  /**
   * Position in its priority's queue. New tasks take increasing positive numbers;
   * a requeued task takes a decreasing negative one so it goes back to the head.
   */
  queueSeq: number;
  readonly kind: string;
  readonly payload: string;
  readonly priority: Priority;
  readonly targetMemberId: MemberId | undefined;
  /** Most attempts it gets, counting runs that failed, timed out or lost their worker. */
  readonly maxAttempts: number;
  /** Delay before the first retry after a failure or timeout; doubles per attempt. */
  readonly retryBackoffMs: number;
  /** An attempt running longer is stopped and counts as failed; 0 means no limit. */
  readonly timeoutMs: number;
  status: TaskStatus;
  /** Current or last attempt, from 1; 0 until first assigned. */
  attempt: number;
  /**
   * Attempts made before the current series: 0 until an operator re-runs the failed task,
   * then the attempt it had reached. `maxAttempts` counts attempts after it.
   */
  attemptBase: number;
  /** Member that runs or last ran it. */
  memberId: MemberId | undefined;
  result: string | undefined;
  /** Last error: of the final attempt once finished, of the previous one while retrying. */
  error: string | undefined;
  /**
   * True when the current attempt is over (it failed or timed out) and the task waits for
   * a retry; false while it may still run somewhere (running, or requeued after its
   * worker was lost, which the same worker may still re-attach or report).
   */
  attemptEnded: boolean;
  /** A pending task waiting out its retry backoff is not offered before this time. */
  retryAtMs: number | undefined;
  /**
   * A delayed task's run time: `scheduled` until then, and kept afterwards to say when it
   * was due. Undefined for a task queued at once.
   */
  readonly runAtMs: number | undefined;
  /**
   * Another schedule with this key, while the key holds, gets this task back instead of a
   * new one. It holds while the task is open and, if `idempotencyExpiresAtMs` is set, after
   * it finished until then; never longer than the task is kept.
   */
  readonly idempotencyKey: string | undefined;
  readonly idempotencyExpiresAtMs: number | undefined;
  /**
   * Tasks with the same key share the key's limits (running at once, starts per interval,
   * a pause) and take turns with other keys within a priority. Undefined: no key.
   */
  readonly concurrencyKey: string | undefined;
  /**
   * W3C trace context of the leader's schedule span, when the leader traces: kept in
   * memory only (not stored), so tasks loaded at start carry none and are not traced.
   */
  traceContext?: Readonly<Record<string, string>> | undefined;
  /**
   * The leader's metrics' bookkeeping: the record's status and attempt when they last
   * counted it (see TaskTransitions). Not stored. A field rather than a WeakMap beside the
   * records: a WeakMap holding every live record cost the garbage collector more per task
   * than the counting itself (issue #19's benchmark).
   */
  observedState?: number | undefined;
  /**
   * The attempt its worker was asked to hand back unstarted (see held-recall.ts), so it is
   * asked once: a worker that began it runs it on. Not stored.
   */
  recalledAttempt?: number | undefined;
  /**
   * The last attempt its worker handed back unstarted (see hand-back.ts), for the attempt
   * log: the next start may be saved in the same commit. Not stored.
   */
  handedBackAttempt?: number | undefined;
  /**
   * The attempt its worker said it began (HeartbeatRequest.began), for a worker that sends
   * such notices: losing that worker counts an attempt only if it began (see
   * unbegun-loss.ts). Not stored.
   */
  begunAttempt?: number | undefined;
  /** When the leader heard that (`begunAttempt`) begin. Not stored. */
  begunAtMs?: number | undefined;
  /**
   * The last attempt requeued because its worker was lost, and when, for the attempt log:
   * the next start may be saved in the same commit. Not stored.
   */
  lostAttempt?:
    { readonly attempt: number; readonly atMs: number; readonly error: string } | undefined;
  /**
   * The attempt whose loss (its worker lost before it began it) was not counted, until the
   * worker re-attaches or reports it (then it counts again). Not stored.
   */
  uncountedLossAttempt?: number | undefined;
  /**
   * Where the current attempt's timeout counts from, when not from `startedAtMs`: when its
   * worker said it began it, or when the timeout was put off because it had not (see
   * unbegun-loss.ts). Not stored.
   */
  timeoutFrom?: { readonly attempt: number; readonly atMs: number } | undefined;
  /** How many losses of its worker this task has had uncounted (bounded). Not stored. */
  uncountedLosses?: number | undefined;
  /** The attempts this leader saw (the leader's attempt log; not stored). */
  attemptLog?: AttemptLogEntry[] | undefined;
  readonly createdAtMs: number;
  startedAtMs: number | undefined;
  finishedAtMs: number | undefined;
}

/** Attempts made in the current series (what `maxAttempts` limits). */
export function attemptsInSeries(task: TaskRecord): number {
  return task.attempt - task.attemptBase;
}

/** True if the task has used every attempt it may make: another start would exceed it. */
export function outOfAttempts(task: TaskRecord): boolean {
  return attemptsInSeries(task) >= task.maxAttempts;
}

/** True once a task has ended (an operator may still re-run a failed one). */
export function isFinal(status: TaskStatus): boolean {
  return status === 'completed' || status === 'cancelled' || status === 'error';
}
