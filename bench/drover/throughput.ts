import { setTimeout as sleep } from 'node:timers/promises';
import { taskDraft } from '../../src/scheduler/task-wire.js';
import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { produce } from '../lib/produce.js';
import { BenchCluster } from '../lib/drover-cluster.js';

/** One throughput run's settings. */
export interface ThroughputSettings {
  readonly tasks: number;
  readonly workers: number;
  readonly slots: number;
  /** `single`: one ScheduleTask per task; `batch`: ScheduleTasks of `batchSize`. */
  readonly mode: 'single' | 'batch';
  readonly batchSize: number;
  /** Calls kept in flight by the producer. */
  readonly window: number;
  readonly leaderArgs?: readonly string[];
}

/**
 * End to end: schedule `tasks` tasks, have them assigned, run by an empty handler and
 * completed, with every process real. Returns tasks per second from the first schedule
 * call to the moment the leader has none pending or running.
 */
export async function droverThroughput(settings: ThroughputSettings): Promise<number> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader([...(settings.leaderArgs ?? [])]);
    await Promise.all(
      Array.from({ length: settings.workers }, (_, i) =>
        cluster.startWorker(`w${i + 1}`, settings.slots),
      ),
    );
    const api = cluster.clients;
    const startedMs = performance.now();
    await produce(
      settings,
      () => api.schedule({ payload: 'x' }),
      (size) =>
        api.call(api.scheduler, api.scheduler.scheduleTasks, {
          tasks: Array.from({ length: size }, () => taskDraft({ payload: 'x' })),
        }),
    );
    // Everything is scheduled; wait (bounded) until nothing is pending or running. Members
    // is cheap (O(members)); the task-list check that confirms it scans, so it runs only
    // once every slot looks free.
    const deadline = performance.now() + 10 * 60_000;
    for (;;) {
      const members = await api.members();
      if (members.every((m) => m.slotsFree === m.slotsTotal) && (await nothingOpen(api))) break;
      if (performance.now() > deadline)
        throw new Error('throughput run did not finish in 10 minutes');
      await sleep(10);
    }
    const elapsedMs = performance.now() - startedMs;
    return settings.tasks / (elapsedMs / 1000);
  } finally {
    await cluster.stop();
  }
}

async function nothingOpen(api: BenchCluster['clients']): Promise<boolean> {
  for (const status of [TaskStatus.TASK_STATUS_PENDING, TaskStatus.TASK_STATUS_RUNNING]) {
    const page = await api.call(api.scheduler, api.scheduler.getTasks, {
      status,
      memberId: '',
      pageSize: 1,
      pageToken: '',
    });
    if (page.tasks.length > 0) return false;
  }
  return true;
}
