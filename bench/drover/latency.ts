import { setTimeout as sleep } from 'node:timers/promises';
import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { BenchCluster } from '../lib/drover-cluster.js';
import { waitFor } from '../../test/helpers/wait-for.js';

/**
 * Schedule-to-start and schedule-to-complete at a light steady rate with idle workers.
 * Start is when the handler ran (it returns its clock reading, fractional ms); complete is
 * when the leader recorded the result (its timestamp, whole ms).
 */
export async function droverLatency(
  count: number,
  ratePerSec: number,
  workers: number,
  slots: number,
): Promise<{ toStartMs: number[]; toCompleteMs: number[] }> {
  const cluster = new BenchCluster();
  try {
    await cluster.startLeader();
    await Promise.all(
      Array.from({ length: workers }, (_, i) => cluster.startWorker(`w${i + 1}`, slots)),
    );
    const api = cluster.clients;
    const sentAt = new Map<string, number>();
    for (let i = 0; i < count; i++) {
      const id = `lat-${i}`;
      sentAt.set(id, performance.timeOrigin + performance.now());
      await api.schedule({ id, payload: 'x' });
      await sleep(1000 / ratePerSec);
    }
    const done = await waitFor(
      async () => {
        const tasks = await api.tasks(TaskStatus.TASK_STATUS_COMPLETED);
        return tasks.length === count && tasks;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: 'latency tasks completed' },
    );
    return {
      toStartMs: done.map((t) => Number(t.result) - sentAt.get(t.id)!),
      toCompleteMs: done.map((t) => t.finishedAt!.getTime() - sentAt.get(t.id)!),
    };
  } finally {
    await cluster.stop();
  }
}
