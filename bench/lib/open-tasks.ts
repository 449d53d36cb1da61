import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../../src/gen/scheduler/v1/scheduler.js';
import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import type { BenchCluster } from './drover-cluster.js';

/**
 * True when the leader holds no task in any of `statuses` (by default pending or running):
 * one page-of-one GetTasks per status, cheap enough to poll.
 */
export async function nothingOpen(
  api: BenchCluster['clients'],
  statuses: readonly TaskStatus[] = [
    TaskStatus.TASK_STATUS_PENDING,
    TaskStatus.TASK_STATUS_RUNNING,
  ],
): Promise<boolean> {
  for (const status of statuses) {
    const page = await api.call(api.scheduler, api.scheduler.getTasks, {
      status,
      memberId: '',
      kind: '',
      newestFirst: false,
      pageSize: 1,
      pageToken: '',
    });
    if (page.tasks.length > 0) return false;
  }
  return true;
}

/** Schedules `count` tasks in ScheduleTasks calls of 1,000, task `i` made by `make(i)`. */
export async function scheduleInBatches(
  api: BenchCluster['clients'],
  count: number,
  make: (i: number) => Task,
): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const size = Math.min(1000, count - start);
    await api.call(api.scheduler, api.scheduler.scheduleTasks, {
      tasks: Array.from({ length: size }, (_, j) => make(start + j)),
    });
  }
}

/**
 * Waits (polling every `intervalMs`, at most `timeoutMs`, else throws `stuck`) until no task
 * is in `statuses`, then returns the completed tasks, which must be exactly `count`.
 */
export async function completedWhenSettled(
  api: BenchCluster['clients'],
  count: number,
  wait: {
    timeoutMs: number;
    intervalMs: number;
    stuck: string;
    statuses?: readonly TaskStatus[];
  },
): Promise<Task[]> {
  const deadline = performance.now() + wait.timeoutMs;
  while (!(await nothingOpen(api, wait.statuses))) {
    if (performance.now() > deadline) throw new Error(wait.stuck);
    await sleep(wait.intervalMs);
  }
  const tasks = await api.tasks(TaskStatus.TASK_STATUS_COMPLETED);
  if (tasks.length !== count) throw new Error(`${tasks.length} of ${count} tasks completed`);
  return tasks;
}
