import { describe, expect, it } from 'vitest';
import { HeartbeatStatus, type HeartbeatResponse } from '../../src/gen/cluster/v1/leader.js';
import { TaskStatus, type TestClients } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// A leader dies after it committed a task as started on a worker but before the worker got
// the start order. The worker process joins the next leader: its first heartbeat lists
// nothing, so the task is put back. JoinRequest.resumed says whether that costs the task
// an attempt: from the same process (resumed) the attempt never began, so it does not;
// from a new process under the id, the old one may have begun it, so it does. Here a
// client of the raw protocol plays the worker, so the lost start order is certain.

describe('a worker that joins the next leader after a failover (JoinRequest.resumed)', () => {
  const { cluster, clients } = useCluster();

  /** Joins as worker `w` of one slot and opens its stream; collects the start orders. */
  async function joinAndListen(c: TestClients, resumed: boolean) {
    const { session } = await c.call(c.leader, c.leader.join, {
      id: 'w',
      address: '',
      slots: 1,
      kinds: [],
      instance: 'process-1',
      allowedCommands: [],
      timedStarts: false,
      beganNotices: true,
      lossFenceMs: 0,
      resumed,
    });
    const stream = c.leader.heartbeat();
    const starts: string[] = [];
    stream.on('data', (response: HeartbeatResponse) => {
      for (const start of response.start) starts.push(`${start.id}#${start.attempt}`);
    });
    stream.on('error', () => {}); // the leader is killed under it
    stream.write({
      id: 'w',
      session,
      status: HeartbeatStatus.HEARTBEAT_STATUS_IDLE,
      freeSlots: 1,
      running: [],
      serial: 1,
      draining: false,
      finished: [],
      statusReason: '',
      output: [],
      began: [],
    });
    return { stream, starts };
  }

  for (const resumed of [true, false]) {
    it(`with resumed ${String(resumed)}, a task on its one attempt ${resumed ? 'runs after all' : 'fails: it may have begun'}`, async () => {
      const dataDir = cluster().dataDir();
      const first = await cluster().startLeader(['--data-dir', dataDir], 'leader-1');
      const c1 = clients(first.address);
      const worker1 = await joinAndListen(c1, false);
      await c1.schedule({ id: 'once', payload: 'p', maxAttempts: 1 });
      // The start order reached this client, which never begins it: as if it were lost.
      await waitFor(async () => worker1.starts.includes('once#1'), {
        timeoutMs: 5_000,
        what: 'the start order',
      });
      first.process.kill('SIGKILL');
      await first.process.exited;

      const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
      const c2 = clients(second.address);
      const worker2 = await joinAndListen(c2, resumed);
      if (resumed) {
        // Not counted: started again (attempt 2 of a budget of 1, the first forgiven).
        await waitFor(async () => worker2.starts.includes('once#2'), {
          timeoutMs: 5_000,
          what: 'the task started again',
        });
        const task = await c2.task('once');
        expect(task).toMatchObject({ status: TaskStatus.TASK_STATUS_RUNNING, attempt: 2 });
        expect(task.attempt - task.attemptBase).toBe(1);
        expect(second.process.linesWith('task not re-attached')).toMatchObject([
          { taskId: 'once', status: 'pending' },
        ]);
      } else {
        const task = await waitFor(
          async () => {
            const now = await c2.task('once');
            return now.status === TaskStatus.TASK_STATUS_ERROR && now;
          },
          { timeoutMs: 5_000, what: 'the task failed' },
        );
        expect(task.error).toBe(
          'member w did not list it when it came back after the restart during attempt 1; no attempts left (max 1)',
        );
        expect(worker2.starts).toEqual([]);
      }
      expect(second.process.linesWith('task re-attached')).toEqual([]);
      worker2.stream.cancel();
    });
  }
});
