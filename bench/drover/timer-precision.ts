import { setTimeout as sleep } from 'node:timers/promises';
import { taskDraft } from '../../src/client/task-draft.js';
import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { completedWhenSettled, scheduleInBatches } from '../lib/open-tasks.js';
import { BenchCluster, type BenchStore } from '../lib/drover-cluster.js';

/** Every status of a task that has yet to finish. */
const OPEN = [
  TaskStatus.TASK_STATUS_SCHEDULED,
  TaskStatus.TASK_STATUS_PENDING,
  TaskStatus.TASK_STATUS_RUNNING,
];

/** How far ahead the first task is due: time to schedule them all before any falls due. */
export const TIMER_LEAD_MS = 3_000;

/**
 * When task `i` of `count` is due: spread evenly over `windowMs` (one second by default)
 * from `firstDueMs`; a window of 0 makes them all due at the same instant.
 */
export function dueAtMs(firstDueMs: number, i: number, count: number, windowMs = 1000): number {
  return firstDueMs + Math.floor((i * windowMs) / count);
}

/**
 * Timer precision of delayed tasks (issue #18): `count` tasks due within `windowMs`,
 * all scheduled ahead with run_at (ScheduleTasks batches of 1,000), run by empty handlers
 * on `workers` x `slots`, after `warmUp` tasks with no delay have run on the same processes
 * (a leader in service has compiled its start and completion paths; a cold one spends the
 * second in V8's compiler, which is not what this measures). Returns, per task, how late
 * its handler started after its run time, in ms (the handler returns its own start time;
 * same machine clock).
 */
export async function droverTimerPrecision(
  count: number,
  workers: number,
  slots: number,
  store: BenchStore = 'memory',
  warmUp = 0,
  windowMs = 1000,
): Promise<number[]> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader([], store);
    await cluster.startWorkers(workers, slots);
    const api = cluster.clients;
    if (warmUp > 0) {
      await scheduleInBatches(api, warmUp, (i) => taskDraft({ id: `warm-${i}`, payload: 'x' }));
      await completedWhenSettled(api, warmUp, {
        timeoutMs: 60_000,
        intervalMs: 20,
        stuck: 'warm-up tasks did not all run in 60 s',
      });
    }
    const firstDueMs = Date.now() + TIMER_LEAD_MS;
    await scheduleInBatches(api, count, (i) =>
      taskDraft({
        id: `due-${i}`,
        payload: 'x',
        runAt: new Date(dueAtMs(firstDueMs, i, count, windowMs)),
      }),
    );
    if (Date.now() >= firstDueMs) throw new Error('scheduling took longer than the lead time');
    await sleep(firstDueMs + windowMs - Date.now());
    // Bounded: everything due has started within a minute, or the run is reported failed.
    const tasks = await completedWhenSettled(api, warmUp + count, {
      timeoutMs: 60_000,
      intervalMs: 20,
      stuck: 'delayed tasks did not all run in 60 s',
      statuses: OPEN,
    });
    return tasks
      .filter((task) => task.id.startsWith('due-'))
      .map((task) => Number(task.result) - task.runAt!.getTime());
  } finally {
    await cluster.stop();
  }
}
