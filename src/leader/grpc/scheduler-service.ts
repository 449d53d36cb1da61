import { watchWaiting } from '../watch-waiting.js';
import type { Logger } from 'pino';
import {
  Task,
  TaskEventKind,
  TaskStatus,
  type SchedulerServiceServer,
  type WatchTasksRequest,
  type WatchTasksResponse,
  type TaskCompleteRequest,
} from '../../gen/scheduler/v1/scheduler.js';
import type { LeaderApi } from '../leader-api.js';
import { isFinal } from '../../scheduler/task.js';
import { unary } from '../../shared/grpc-handler.js';
import { refuseMalformed, serveWatch, type WatchSource } from '../../shared/grpc-watch.js';
import { serveTaskOutput } from './output-stream.js';
import { serveScheduleStream } from './schedule-stream.js';
import { withCallTrace } from '../tracing/trace-carrier.js';
import { controlHandlers } from './control-service.js';
import { controlChangeToWire } from './control-wire.js';
import { controlSnapshot } from '../control-snapshot.js';
import type { ControlChange, TaskEvent } from '../cluster-events.js';
import type { TaskWatchFilter } from '../../scheduler/task-watch-filter.js';
import { DeniedError, InvalidArgumentError, TooLargeError } from '../../shared/errors.js';
import { MAX_REPORT_TEXT_CHARS } from './member-wire.js';
import { memberIdFromWire, type TaskId } from '../../shared/ids.js';
import {
  newTaskFromWire,
  nextPageToken,
  taskIdFromWire,
  taskQueryFromWire,
  taskToWire,
  watchFilterFromWire,
} from './task-wire.js';

/** A control change as a task watch event. */
function controlEvent(change: ControlChange): WatchTasksResponse {
  return {
    kind: TaskEventKind.TASK_EVENT_KIND_CONTROL,
    task: undefined,
    control: controlChangeToWire(change),
  };
}

/** A task change as a watch event, or undefined when the watch's filter leaves it out. */
function taskEventToWire(
  coordinator: LeaderApi,
  filter: TaskWatchFilter,
  event: TaskEvent,
): WatchTasksResponse | undefined {
  if (event.kind === 'deleted') {
    if (!filter.admitDeleted(event.id)) return undefined;
    return {
      kind: TaskEventKind.TASK_EVENT_KIND_DELETED,
      task: Task.fromPartial({ id: event.id }),
      control: undefined,
    };
  }
  if (!filter.admit(event.task)) return undefined;
  return {
    kind: TaskEventKind.TASK_EVENT_KIND_CHANGED,
    task: taskToWire(event.task, watchWaiting(coordinator, event.task)),
    control: undefined,
  };
}

/** A task watch as the generic watch server takes it: wire messages, filtered. */
function taskWatchSource(
  coordinator: LeaderApi,
  request: WatchTasksRequest,
): WatchSource<WatchTasksResponse> {
  return {
    start: (send, end) => {
      // Inside start: a bad filter is refused as INVALID_ARGUMENT by serveWatch.
      const id = request.id === '' ? undefined : taskIdFromWire(request.id);
      const filter = watchFilterFromWire(request, id);
      const untilEnd = endsWithTheTask(request, id);
      const { snapshot, unsubscribe: stopTasks } = coordinator.watchTasks(
        (event) => {
          const message = taskEventToWire(coordinator, filter, event);
          if (message === undefined) return;
          send(message);
          if (untilEnd && (event.kind === 'deleted' || isFinal(event.task.status))) end();
        },
        true,
        id,
      );
      const controls = request.includeControls ? controlSnapshot(coordinator) : [];
      const stopControls = request.includeControls
        ? coordinator.events.onControl((change) => send(controlEvent(change)))
        : () => {};
      const unsubscribe = () => {
        stopTasks();
        stopControls();
      };
      return {
        // Rendered as it is written (WatchPump), never all at once.
        snapshot: (function* () {
          // The controls as they are, then the tasks: both before SYNCED.
          for (const change of controls) yield controlEvent(change);
          for (const task of snapshot) {
            if (filter.admit(task)) {
              yield {
                kind: TaskEventKind.TASK_EVENT_KIND_SNAPSHOT,
                task: taskToWire(task, watchWaiting(coordinator, task)),
                control: undefined,
              };
            }
          }
        })(),
        synced: { kind: TaskEventKind.TASK_EVENT_KIND_SYNCED, task: undefined, control: undefined },
        // Nothing more to say of a task that has ended, or that is not there.
        endAfterSnapshot: untilEnd && !snapshot.some((task) => !isFinal(task.status)),
        unsubscribe,
      };
    },
    onClose: (listener) => coordinator.events.onClose(listener),
  };
}

/**
 * Whether the watch ends with its task (`until_ended`): the watch is freed as the end goes
 * out, not when the client's cancel arrives a round trip later; a waiter that went straight
 * on to its next watch (result() in batches) found its last ones still counted against the
 * per-client limit. Takes `id` alone: with other filters, whether the end was sent would
 * depend on them.
 */
function endsWithTheTask(request: WatchTasksRequest, id: TaskId | undefined): boolean {
  if (!request.untilEnded) return false;
  const alone =
    request.status === TaskStatus.TASK_STATUS_UNSPECIFIED &&
    request.memberId === '' &&
    request.kind === '' &&
    !request.includeControls;
  if (id === undefined || !alone) {
    throw new InvalidArgumentError('until_ended takes an id, and no other filter');
  }
  return true;
}

/** WatchTasks: the task watch, admitted by the leader's watch limits. */
function serveTaskWatch(
  call: Parameters<SchedulerServiceServer['watchTasks']>[0],
  coordinator: LeaderApi,
  logger: Logger,
): void {
  serveWatch(call, taskWatchSource(coordinator, call.request), logger, () => coordinator.watchers);
}

/** Most tasks one ScheduleTasks call may carry (the message-size limit also applies). */
export const MAX_BATCH_TASKS = 10_000;

/** scheduler.v1.SchedulerService over grpc-js: decode, call the coordinator, encode. */
export function schedulerService(
  coordinator: LeaderApi,
  logger: Logger,
  { reportsOnStreamOnly = false }: { readonly reportsOnStreamOnly?: boolean } = {},
): SchedulerServiceServer {
  return {
    scheduleTask: unary(logger, async (request, { metadata }) => {
      const { task, existing } = await coordinator.scheduleTask(
        withCallTrace(newTaskFromWire(request.task), metadata),
      );
      return { id: task.id, existing };
    }),
    scheduleTasks: unary(logger, async (request, { metadata }) => {
      if (request.tasks.length === 0) {
        throw new InvalidArgumentError('ScheduleTasks needs at least one task');
      }
      if (request.tasks.length > MAX_BATCH_TASKS) {
        throw new InvalidArgumentError(
          `ScheduleTasks takes at most ${MAX_BATCH_TASKS} tasks per call, got ${request.tasks.length}`,
        );
      }
      const { tasks, existing } = await coordinator.scheduleTasks(
        request.tasks.map((task) => withCallTrace(newTaskFromWire(task), metadata)),
      );
      return { ids: tasks.map((task) => task.id), existing };
    }),
    cancelTask: unary(logger, async (request) => {
      const outcome = await coordinator.cancelTask(taskIdFromWire(request.id));
      const { task, stopSent, alreadyCancelled } = outcome;
      return { task: taskToWire(task), stopSent, alreadyCancelled };
    }),
    getTasks: unary(logger, (request) => {
      const query = taskQueryFromWire(request);
      const page = coordinator.listTasks(query);
      const tasks = page.tasks.map((task) => taskToWire(task, coordinator.waitingReason(task)));
      return { tasks, nextPageToken: nextPageToken(page) };
    }),
    getTaskOutput: (call) =>
      refuseMalformed(call, logger) || serveTaskOutput(call, coordinator, logger),
    watchTasks: (call) =>
      refuseMalformed(call, logger) || serveTaskWatch(call, coordinator, logger),
    deleteTask: unary(logger, async (request) => {
      return { task: taskToWire(await coordinator.deleteTask(taskIdFromWire(request.id))) };
    }),
    getTask: unary(logger, (request) => {
      const task = coordinator.getTask(taskIdFromWire(request.id));
      return { task: taskToWire(task, coordinator.waitingReason(task)) };
    }),
    ...controlHandlers(coordinator, logger),
    scheduleTaskStream: (call) => serveScheduleStream(coordinator, logger, call),
    taskComplete: unary(logger, (request) =>
      completeTask(coordinator, request, reportsOnStreamOnly),
    ),
  };
}

/** TaskComplete: an operator's completion, or (on an open leader) a worker's report. */
async function completeTask(
  coordinator: LeaderApi,
  request: TaskCompleteRequest,
  reportsOnStreamOnly: boolean,
): Promise<{ task: Task }> {
  // Guarded (issue #20), a worker's report comes on its own heartbeat stream, which only
  // the process that joined holds. TaskComplete naming a member would let any write token
  // report for a worker: its results, its failures (and so its quarantine).
  if (reportsOnStreamOnly && request.memberId !== '') {
    throw new DeniedError(
      "this leader checks who calls (tokens or worker certificates): workers report on their heartbeat stream; TaskComplete takes an operator's completion only (no member_id)",
    );
  }
  // A person or a tool sent it, and can send less: refused, where a worker's is cut.
  for (const [name, text] of [
    ['result', request.result],
    ['error', request.error],
  ] as const) {
    if (text !== undefined && text.length > MAX_REPORT_TEXT_CHARS) {
      throw new TooLargeError(
        `${name} is ${text.length} characters; the most is ${MAX_REPORT_TEXT_CHARS}`,
      );
    }
  }
  const task = await coordinator.completeTask({
    taskId: taskIdFromWire(request.id),
    attempt: request.attempt,
    memberId: request.memberId === '' ? undefined : memberIdFromWire(request.memberId),
    result: request.result,
    error: request.error,
    permanent: request.permanent,
  });
  return { task: taskToWire(task) };
}
