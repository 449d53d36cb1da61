import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TaskRecord } from '../../scheduler/task.js';
import { DURATION_HINT, parseDuration } from '../../shared/duration.js';
import { InvalidArgumentError, NotFoundError } from '../../shared/errors.js';
import type { TaskId } from '../../shared/ids.js';
import type { LeaderApi } from '../leader-api.js';

/** The longest `?wait=` a GET of one task takes: past it, proxies tend to cut idle requests. */
export const MAX_TASK_WAIT_MS = 5 * 60_000;

/** Statuses a task does not leave by itself: what a wait waits for. */
const ENDED: ReadonlySet<TaskRecord['status']> = new Set(['completed', 'error', 'cancelled']);

/** `?wait=30s` in ms (0 when absent); a bad value is a 400 naming the parameter. */
export function waitParamMs(value: string | undefined): number {
  if (value === undefined) return 0;
  const ms = parseDuration(value.trim());
  if (ms === undefined) {
    throw new InvalidArgumentError(`wait: expected ${DURATION_HINT}, got "${value}"`);
  }
  if (ms > MAX_TASK_WAIT_MS) {
    throw new InvalidArgumentError(`wait: "${value}" is more than 5m, the most allowed`);
  }
  return Math.round(ms);
}

/**
 * A long poll for scripts (`curl '.../v1/tasks/ID?wait=30s'`): the task once it has ended,
 * or as it is when `waitMs` passes first (the caller reads its status and asks again). It
 * holds a watch on that one task meanwhile, so it counts against the leader's watch limits
 * (429 when over). A task deleted before it ends is a 404.
 */
export function taskAfterWait(
  coordinator: LeaderApi,
  id: TaskId,
  waitMs: number,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<TaskRecord> {
  const task = coordinator.getTask(id);
  if (waitMs === 0 || ENDED.has(task.status)) return Promise.resolve(task);
  const release = coordinator.watchers.admit(request.ip);
  return new Promise((resolve, reject) => {
    const cleanups: (() => void)[] = [release];
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      for (const cleanup of cleanups) cleanup();
      settle();
    };
    // As it is now: it may have been deleted meanwhile (by retention, say).
    const current = (): void => {
      try {
        resolve(coordinator.getTask(id));
      } catch (err) {
        reject(err);
      }
    };
    try {
      const { unsubscribe } = coordinator.watchTasks(
        (event) => {
          if (event.kind === 'deleted') {
            if (event.id === id) {
              finish(() => reject(new NotFoundError(`task ${id} was deleted before it ended`)));
            }
          } else if (event.task.id === id && ENDED.has(event.task.status)) {
            finish(() => resolve(event.task));
          }
        },
        false,
        id,
      );
      cleanups.push(unsubscribe);
    } catch (err) {
      finish(() => reject(err));
      return;
    }
    const timer = setTimeout(() => finish(current), waitMs);
    cleanups.push(() => clearTimeout(timer));
    // The leader stops: answer with the task as it is rather than hold the request.
    cleanups.push(coordinator.events.onClose(() => finish(current)));
    // The client went away: nobody to answer, and the watch is freed at once.
    const gone = (): void => finish(() => resolve(task));
    reply.raw.on('close', gone);
    cleanups.push(() => reply.raw.off('close', gone));
  });
}
