import { setTimeout as sleep } from 'node:timers/promises';
import { taskDraft } from '../../src/client/task-draft.js';
import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { nothingOpen } from '../lib/open-tasks.js';
import { BenchCluster, type BenchStore } from '../lib/drover-cluster.js';

/**
 * A rate limit under load (issue #18): one concurrency key limited to `ratePerSec` starts
 * per second (burst 1), `count` tasks of it scheduled at once (ScheduleTasks batches of
 * 1,000), empty handlers on `workers` x `slots`. Returns each handler's start time (the
 * bench worker returns it as the result; same machine clock).
 */
export async function droverRateLimit(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
  store: BenchStore = 'memory',
): Promise<number[]> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader([], store);
    await cluster.startWorkers(workers, slots);
    const api = cluster.clients;
    await api.call(api.scheduler, api.scheduler.setLimit, {
      limit: {
        key: 'api',
        kind: '',
        rateCount: ratePerSec,
        rateIntervalMs: 1000,
        running: 0,
        queued: 0,
      },
    });
    for (let start = 0; start < count; start += 1000) {
      const size = Math.min(1000, count - start);
      await api.call(api.scheduler, api.scheduler.scheduleTasks, {
        tasks: Array.from({ length: size }, () =>
          taskDraft({ payload: 'x', concurrencyKey: 'api' }),
        ),
      });
    }
    // Bounded: the limit lets them all through in count / rate seconds, plus a margin.
    const deadline = performance.now() + (count / ratePerSec) * 1000 * 2 + 30_000;
    while (!(await nothingOpen(api))) {
      if (performance.now() > deadline) throw new Error('rate-limited tasks did not all run');
      await sleep(50);
    }
    const tasks = await api.tasks(TaskStatus.TASK_STATUS_COMPLETED);
    if (tasks.length !== count) throw new Error(`${tasks.length} of ${count} tasks completed`);
    return tasks.map((task) => Number(task.result));
  } finally {
    await cluster.stop();
  }
}
