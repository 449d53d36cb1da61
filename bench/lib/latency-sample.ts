import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import type { BenchCluster } from './drover-cluster.js';

/**
 * Waits (bounded) until every task in `sentAt` has completed, then times each from when it
 * was sent to when its handler ran (the bench worker's handler returns its wall-clock
 * reading as the result) and to when the leader recorded it finished.
 */
export async function latencySample(
  api: BenchCluster['clients'],
  sentAt: ReadonlyMap<string, number>,
): Promise<{ toStartMs: number[]; toCompleteMs: number[] }> {
  const done = await waitFor(
    async () => {
      const tasks = (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).filter((t) =>
        sentAt.has(t.id),
      );
      return tasks.length === sentAt.size && tasks;
    },
    { timeoutMs: 60_000, intervalMs: 50, what: 'latency tasks completed' },
  );
  return {
    toStartMs: done.map((t) => Number(t.result) - sentAt.get(t.id)!),
    toCompleteMs: done.map((t) => t.finishedAt!.getTime() - sentAt.get(t.id)!),
  };
}
