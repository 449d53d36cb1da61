import { taskDraft } from '../../src/client/task-draft.js';
import { completedWhenSettled, scheduleInBatches } from '../lib/open-tasks.js';
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
    await scheduleInBatches(api, count, () => taskDraft({ payload: 'x', concurrencyKey: 'api' }));
    // Bounded: the limit lets them all through in count / rate seconds, plus a margin.
    const tasks = await completedWhenSettled(api, count, {
      timeoutMs: (count / ratePerSec) * 1000 * 2 + 30_000,
      intervalMs: 50,
      stuck: 'rate-limited tasks did not all run',
    });
    return tasks.map((task) => Number(task.result));
  } finally {
    await cluster.stop();
  }
}
