import { InvalidArgumentError } from '../../shared/errors.js';
import { asTaskId, memberIdFromWire, type TaskId } from '../../shared/ids.js';
import { checkId } from '../../shared/text.js';
import {
  Task as WireTask,
  TaskPriority,
  TaskStatus as WireStatus,
  type GetTasksRequest,
  type WatchTasksRequest,
} from '../../gen/scheduler/v1/scheduler.js';
import { TaskWatchFilter } from '../../scheduler/task-watch-filter.js';
import type { NewTask, TaskPage, TaskQuery } from '../../scheduler/scheduler.js';
import { traceCarrierFrom } from '../tracing/trace-carrier.js';
import {
  checkKind,
  type Priority,
  type TaskRecord,
  type TaskStatus,
} from '../../scheduler/task.js';

// Conversions between the wire (src/gen) and the domain, so nothing past the adapters
// sees generated types.

/** Domain priority to the wire. */
export const PRIORITY_TO_WIRE: Readonly<Record<Priority, TaskPriority>> = {
  low: TaskPriority.TASK_PRIORITY_LOW,
  medium: TaskPriority.TASK_PRIORITY_MEDIUM,
  high: TaskPriority.TASK_PRIORITY_HIGH,
};

const STATUS_TO_WIRE: Readonly<Record<TaskStatus, WireStatus>> = {
  scheduled: WireStatus.TASK_STATUS_SCHEDULED,
  pending: WireStatus.TASK_STATUS_PENDING,
  running: WireStatus.TASK_STATUS_RUNNING,
  completed: WireStatus.TASK_STATUS_COMPLETED,
  cancelled: WireStatus.TASK_STATUS_CANCELLED,
  error: WireStatus.TASK_STATUS_ERROR,
};

/** The most tasks one GetTasks page returns. */
export const MAX_PAGE_SIZE = 1000;
const DEFAULT_PAGE_SIZE = 100;

/** Domain priority from the wire; UNSPECIFIED (or absent) is MEDIUM. */
export function priorityFromWire(priority: TaskPriority | undefined): Priority {
  switch (priority) {
    case undefined:
    case TaskPriority.TASK_PRIORITY_UNSPECIFIED:
    case TaskPriority.TASK_PRIORITY_MEDIUM:
      return 'medium';
    case TaskPriority.TASK_PRIORITY_LOW:
      return 'low';
    case TaskPriority.TASK_PRIORITY_HIGH:
      return 'high';
    default:
      throw new InvalidArgumentError(`unknown task priority ${String(priority)}`);
  }
}

/** Domain status from the wire; undefined for UNSPECIFIED. */
export function statusFromWire(status: WireStatus): TaskStatus | undefined {
  for (const [domain, wire] of Object.entries(STATUS_TO_WIRE) as [TaskStatus, WireStatus][]) {
    if (wire === status) return domain;
  }
  if (status === WireStatus.TASK_STATUS_UNSPECIFIED) return undefined;
  throw new InvalidArgumentError(`unknown task status ${String(status)}`);
}

/** The wire form of a task record; `waiting` says why it is held back, if it is. */
export function taskToWire(task: TaskRecord, waiting = ''): WireTask {
  return {
    id: task.id,
    payload: task.payload,
    priority: PRIORITY_TO_WIRE[task.priority],
    status: STATUS_TO_WIRE[task.status],
    kind: task.kind,
    attempt: task.attempt,
    memberId: task.memberId ?? '',
    targetMemberId: task.targetMemberId ?? '',
    result: task.result,
    error: task.error,
    createdAt: new Date(task.createdAtMs),
    startedAt: task.startedAtMs === undefined ? undefined : new Date(task.startedAtMs),
    finishedAt: task.finishedAtMs === undefined ? undefined : new Date(task.finishedAtMs),
    maxAttempts: task.maxAttempts,
    retryBackoffMs: task.retryBackoffMs,
    timeoutMs: task.timeoutMs,
    retryAt: task.retryAtMs === undefined ? undefined : new Date(task.retryAtMs),
    runAt: task.runAtMs === undefined ? undefined : new Date(task.runAtMs),
    idempotencyKey: task.idempotencyKey ?? '',
    idempotencyTtlMs:
      task.idempotencyExpiresAtMs === undefined
        ? undefined
        : task.idempotencyExpiresAtMs - task.createdAtMs,
    waiting,
    attemptBase: task.attemptBase,
    concurrencyKey: task.concurrencyKey ?? '',
    traceContext: { ...task.traceContext },
    attempts: (task.attemptLog ?? []).map((entry) => ({
      attempt: entry.attempt,
      memberId: entry.memberId ?? '',
      startedAt: entry.startedAtMs === undefined ? undefined : new Date(entry.startedAtMs),
      endedAt: entry.endedAtMs === undefined ? undefined : new Date(entry.endedAtMs),
      outcome: entry.outcome ?? '',
      error: entry.error ?? '',
      beganAt: dateOf(
        entry.begunAtMs ?? (entry.attempt === task.begunAttempt ? task.begunAtMs : undefined),
      ),
    })),
  };
}

/** A time in ms as a Date, if there is one. */
function dateOf(ms: number | undefined): Date | undefined {
  return ms === undefined ? undefined : new Date(ms);
}

/** A ScheduleTask request's task as the scheduler takes it. */
export function newTaskFromWire(task: WireTask | undefined): Omit<NewTask, 'id'> & { id: string } {
  if (task === undefined) throw new InvalidArgumentError('request has no task');
  return {
    id: task.id,
    payload: task.payload,
    priority: priorityFromWire(task.priority),
    kind: task.kind,
    targetMemberId: task.targetMemberId,
    maxAttempts: task.maxAttempts,
    retryBackoffMs: task.retryBackoffMs,
    timeoutMs: task.timeoutMs,
    runAtMs: task.runAt?.getTime(),
    delayMs: task.delayMs,
    idempotencyKey: task.idempotencyKey,
    idempotencyTtlMs: task.idempotencyTtlMs,
    concurrencyKey: task.concurrencyKey,
    traceContext: hasKeys(task.traceContext)
      ? traceCarrierFrom((key) => task.traceContext[key])
      : undefined,
  };
}

/** Whether a decoded map field has any entry (without building a key list). */
function hasKeys(map: { readonly [key: string]: string }): boolean {
  for (const _ in map) return true;
  return false;
}

/** A GetTasks request as a scheduler query. */
export function taskQueryFromWire(request: GetTasksRequest): TaskQuery {
  if (request.pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(
      `page_size ${request.pageSize} is over the most, ${MAX_PAGE_SIZE}`,
    );
  }
  let afterSeq: number | undefined;
  if (request.pageToken !== '') {
    afterSeq = Number(request.pageToken);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw new InvalidArgumentError('page_token is not one this leader gave out');
    }
  }
  return {
    status: statusFromWire(request.status),
    memberId: request.memberId === '' ? undefined : memberIdFromWire(request.memberId),
    kind: kindFilterFromWire(request.kind),
    pageSize: request.pageSize === 0 ? DEFAULT_PAGE_SIZE : request.pageSize,
    afterSeq,
    newestFirst: request.newestFirst,
    maxBytes: GET_TASKS_PAGE_BYTES,
  };
}

/**
 * Estimated bytes of one GetTasks page: under the 4 MiB a gRPC client (the CLI, grpcurl)
 * takes by default. A page of large tasks ends early, with a page token for the rest.
 */
export const GET_TASKS_PAGE_BYTES = 3 * 1024 * 1024;

/** A kind to filter by ('' means any); a name no task could have is refused. */
function kindFilterFromWire(kind: string): string | undefined {
  if (kind === '') return undefined;
  checkKind(kind, 'kind filter');
  return kind;
}

/** A WatchTasks request (or the HTTP watch's query) as a filter. */
export function watchFilterFromWire(request: WatchTasksRequest, id?: TaskId): TaskWatchFilter {
  return new TaskWatchFilter(
    statusFromWire(request.status),
    request.memberId === '' ? undefined : memberIdFromWire(request.memberId),
    kindFilterFromWire(request.kind),
    id,
  );
}

/** The page token that continues after `page`, or '' on the last page. */
export function nextPageToken(page: TaskPage): string {
  return page.nextAfterSeq === undefined ? '' : String(page.nextAfterSeq);
}

/** A task id from a request field; empty is refused. */
export function taskIdFromWire(id: string): TaskId {
  // Checked like a new task's id, so an unknown id is never longer than an id can be
  // when it is echoed back (an error message travels in a header).
  return asTaskId(checkId(id, 'task id'));
}
