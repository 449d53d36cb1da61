import type { Logger } from 'pino';
import type { SchedulerServiceServer } from '../../gen/scheduler/v1/scheduler.js';
import { unary } from '../../shared/grpc-handler.js';
import type { LeaderApi } from '../leader-api.js';
import {
  cronFromWire,
  cronToWire,
  limitFromWire,
  limitToWire,
  pauseToWire,
  targetFromWire,
} from './control-wire.js';
import { taskIdFromWire, taskToWire } from './task-wire.js';

/** The operators' controls of SchedulerService: pauses, limits, cron schedules, re-runs. */
export function controlHandlers(
  coordinator: LeaderApi,
  logger: Logger,
): Pick<
  SchedulerServiceServer,
  | 'pause'
  | 'resume'
  | 'listPauses'
  | 'setLimit'
  | 'removeLimit'
  | 'listLimits'
  | 'retryTask'
  | 'retryFailedTasks'
  | 'addCronSchedule'
  | 'removeCronSchedule'
  | 'listCronSchedules'
  | 'pauseCronSchedule'
  | 'resumeCronSchedule'
> {
  return {
    pause: unary(logger, async (request) => {
      const { pause, changed } = await coordinator.pauses.pause(targetFromWire(request));
      return { pause: pauseToWire(pause), changed };
    }),
    resume: unary(logger, (request) => coordinator.pauses.resume(targetFromWire(request))),
    listPauses: unary(logger, () => ({ pauses: coordinator.pauses.list().map(pauseToWire) })),
    setLimit: unary(logger, async (request) => {
      const { target, limit } = limitFromWire(request.limit);
      return { limit: limitToWire(await coordinator.limits.set(target, limit)) };
    }),
    removeLimit: unary(logger, (request) => coordinator.limits.remove(targetFromWire(request))),
    listLimits: unary(logger, () => ({ limits: coordinator.limits.list().map(limitToWire) })),
    addCronSchedule: unary(logger, async (request) => {
      const spec = cronFromWire(request.schedule);
      return { schedule: cronToWire(await coordinator.crons.add(spec, request.replace)) };
    }),
    removeCronSchedule: unary(logger, (request) => coordinator.crons.remove(request.name)),
    listCronSchedules: unary(logger, () => ({
      schedules: coordinator.crons.list().map(cronToWire),
    })),
    pauseCronSchedule: unary(logger, async (request) => {
      const { schedule, changed } = await coordinator.crons.setPaused(request.name, true);
      return { schedule: cronToWire(schedule), changed };
    }),
    resumeCronSchedule: unary(logger, async (request) => {
      const { schedule, changed } = await coordinator.crons.setPaused(request.name, false);
      return { schedule: cronToWire(schedule), changed };
    }),
    retryTask: unary(logger, async (request) => {
      const [task] = await coordinator.rerunTasks({ id: taskIdFromWire(request.id) });
      return { task: taskToWire(task!) };
    }),
    retryFailedTasks: unary(logger, async (request) => {
      const tasks = await coordinator.rerunTasks({ kind: request.kind });
      return { ids: tasks.map((task) => task.id) };
    }),
  };
}
