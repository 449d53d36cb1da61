import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { taskDraft } from '../../src/client/task-draft.js';
import { BenchCluster } from '../lib/drover-cluster.js';
import { rssBytes } from '../lib/proc.js';
import { distribution, type Distribution } from '../lib/stats.js';

/** Latencies measured with `pending` tasks waiting and no worker to take them. */
export interface QueueDepthRow {
  readonly pending: number;
  readonly leaderRssMiB: number;
  /** One ScheduleTask at a time. */
  readonly scheduleTaskMs: Distribution;
  /** GetTasks first page (100 tasks), no filter and PENDING only. */
  readonly getTasksFirstPageMs: Distribution;
  readonly getPendingFirstPageMs: Distribution;
}

export interface QueueDepthSettings {
  /** Depths at which to measure, ascending; the queue is filled up to each in turn. */
  readonly depths: readonly number[];
  /** Calls per latency sample. */
  readonly samples: number;
  /** Tasks per ScheduleTasks call while filling. */
  readonly fillBatch: number;
}

/**
 * A leader with no workers is filled with pending tasks (batched ScheduleTasks) up to
 * each depth; at each, ScheduleTask and GetTasks first-page latency and the leader's RSS.
 * `bytesPerTask` is the RSS growth from the first depth to the last over the tasks added.
 */
export async function droverQueueDepth(
  settings: QueueDepthSettings,
  onProgress: (what: string) => void,
): Promise<{ rows: QueueDepthRow[]; bytesPerTask: number }> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader();
    const api = cluster.clients;
    const rows: QueueDepthRow[] = [];
    const rssAt: number[] = [];
    let pending = 0;
    for (const depth of settings.depths) {
      onProgress(`queue depth drover: filling to ${depth.toLocaleString('en-US')} pending tasks`);
      while (pending < depth) {
        const size = Math.min(settings.fillBatch, depth - pending);
        await api.call(api.scheduler, api.scheduler.scheduleTasks, {
          tasks: Array.from({ length: size }, () => taskDraft({ payload: 'x' })),
        });
        pending += size;
      }
      const page = (status: TaskStatus) =>
        api.call(api.scheduler, api.scheduler.getTasks, {
          status,
          memberId: '',
          kind: '',
          newestFirst: false,
          pageSize: 100,
          pageToken: '',
        });
      const getAll = await timed(settings.samples, () => page(TaskStatus.TASK_STATUS_UNSPECIFIED));
      const getPending = await timed(settings.samples, () => page(TaskStatus.TASK_STATUS_PENDING));
      // RSS before the ScheduleTask sample, which itself adds `samples` tasks.
      const rss = rssBytes(cluster.leader.pid);
      const schedule = await timed(settings.samples, () => api.schedule({ payload: 'x' }));
      rows.push({
        pending,
        leaderRssMiB: Math.round(rss / 2 ** 20),
        scheduleTaskMs: schedule,
        getTasksFirstPageMs: getAll,
        getPendingFirstPageMs: getPending,
      });
      rssAt.push(rss);
      pending += settings.samples;
    }
    const added = rows.at(-1)!.pending - rows[0]!.pending;
    const bytesPerTask = added === 0 ? Number.NaN : Math.round((rssAt.at(-1)! - rssAt[0]!) / added);
    return { rows, bytesPerTask };
  } finally {
    await cluster.stop();
  }
}

/** Runs `call` `count` times one after another; the distribution of their durations. */
async function timed(count: number, call: () => Promise<unknown>): Promise<Distribution> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    ms.push(performance.now() - started);
  }
  return distribution(ms);
}
