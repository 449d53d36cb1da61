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
      pageSize: 1,
      pageToken: '',
    });
    if (page.tasks.length > 0) return false;
  }
  return true;
}
