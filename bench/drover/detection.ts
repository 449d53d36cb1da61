import { TaskStatus } from '../../test/helpers/grpc-clients.js';
import { waitFor } from '../../test/helpers/wait-for.js';
import { BenchCluster } from '../lib/drover-cluster.js';

/**
 * Time from killing (SIGKILL) or freezing (SIGSTOP) a busy worker to its task running on
 * another member, per trial, with the leader's default timings (or `leaderArgs`). The
 * second attempt's start is the leader's record (whole ms).
 */
export async function droverDetection(
  signal: 'SIGKILL' | 'SIGSTOP',
  trials: number,
  leaderArgs: string[] = [],
): Promise<number[]> {
  const cluster = new BenchCluster();
  const results: number[] = [];
  try {
    await cluster.startLeader(leaderArgs);
    const api = cluster.clients;
    for (let trial = 0; trial < trials; trial++) {
      const victim = await cluster.startWorker(`victim-${trial}`, 1);
      const id = `${signal}-${trial}`;
      await api.schedule({ id, payload: '600000', kind: 'hold', targetMemberId: '' });
      await waitFor(async () => (await api.task(id)).memberId === `victim-${trial}`, {
        timeoutMs: 10_000,
        what: 'task on the victim',
      });
      // The rescuer joins after the task is on the victim, so the task can only move.
      const rescuer = await cluster.startWorker(`rescuer-${trial}`, 1);
      const killedAtMs = Date.now();
      victim.kill(signal);
      const moved = await waitFor(
        async () => {
          const task = await api.task(id);
          return task.status === TaskStatus.TASK_STATUS_RUNNING && task.attempt === 2 && task;
        },
        { timeoutMs: 30_000, intervalMs: 10, what: 'task running elsewhere' },
      );
      results.push(moved.startedAt!.getTime() - killedAtMs);
      await api.cancel(id);
      victim.kill('SIGKILL');
      // The next trial's task must land on the next victim, not on this rescuer.
      rescuer.kill('SIGKILL');
      await Promise.all([victim.exited, rescuer.exited]);
    }
    return results;
  } finally {
    await cluster.stop();
  }
}
