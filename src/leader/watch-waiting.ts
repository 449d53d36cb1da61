import type { TaskRecord } from '../scheduler/task.js';
import type { LeaderApi } from './leader-api.js';

/**
 * Why a watched task waits, for the watch events that carry it (WatchTasks, the SSE task
 * watch): a pending task's reason as the change is sent, so a row that appears live says
 * why it waits as a row read with GetTasks does. Pending tasks only: a running task's
 * "held: ... has not begun it yet" ends with a begun notice, which sends no task event, so
 * it would stay on screen after it stopped being true.
 */
export function watchWaiting(
  coordinator: Pick<LeaderApi, 'waitingReason'>,
  task: TaskRecord,
): string {
  return task.status === 'pending' ? (coordinator.waitingReason(task) ?? '') : '';
}
