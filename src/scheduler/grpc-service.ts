import type { Logger } from 'pino';
import type { SchedulerServiceServer } from '../gen/scheduler/v1/scheduler.js';
import type { Coordinator } from '../leader/coordinator.js';
import { unary } from '../shared/grpc-handler.js';
import { InvalidArgumentError } from '../shared/errors.js';
import { asMemberId } from '../shared/ids.js';
import {
  newTaskFromWire,
  nextPageToken,
  taskIdFromWire,
  taskQueryFromWire,
  taskToWire,
} from './task-wire.js';

/** Most tasks one ScheduleTasks call may carry (the message-size limit also applies). */
export const MAX_BATCH_TASKS = 10_000;

/** scheduler.v1.SchedulerService over grpc-js: decode, call the coordinator, encode. */
export function schedulerService(coordinator: Coordinator, logger: Logger): SchedulerServiceServer {
  return {
    scheduleTask: unary(logger, async (request) => {
      const task = await coordinator.scheduleTask(newTaskFromWire(request.task));
      return { id: task.id };
    }),
    scheduleTasks: unary(logger, async (request) => {
      if (request.tasks.length === 0) {
        throw new InvalidArgumentError('ScheduleTasks needs at least one task');
      }
      if (request.tasks.length > MAX_BATCH_TASKS) {
        throw new InvalidArgumentError(
          `ScheduleTasks takes at most ${MAX_BATCH_TASKS} tasks per call, got ${request.tasks.length}`,
        );
      }
      const tasks = await coordinator.scheduleTasks(request.tasks.map(newTaskFromWire));
      return { ids: tasks.map((task) => task.id) };
    }),
    cancelTask: unary(logger, async (request) => {
      const task = await coordinator.cancelTask(taskIdFromWire(request.id));
      return { task: taskToWire(task) };
    }),
    getTasks: unary(logger, (request) => {
      const query = taskQueryFromWire(request);
      const page = coordinator.listTasks(query);
      return { tasks: page.tasks.map(taskToWire), nextPageToken: nextPageToken(page) };
    }),
    getTask: unary(logger, (request) => {
      return { task: taskToWire(coordinator.getTask(taskIdFromWire(request.id))) };
    }),
    taskComplete: unary(logger, async (request) => {
      const task = await coordinator.completeTask({
        taskId: taskIdFromWire(request.id),
        attempt: request.attempt,
        memberId: request.memberId === '' ? undefined : asMemberId(request.memberId),
        result: request.result,
        error: request.error,
      });
      return { task: taskToWire(task) };
    }),
  };
}
