import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { dropTestSchemas, TEST_DATABASE_URL, testSchema } from '../helpers/pg-schema.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Leaders in a group on the real PostgreSQL, as real processes: the active one is frozen
// (SIGSTOP), a standby takes over, the worker follows with its running task (no second run),
// and the frozen one, woken, has stepped down and names the new leader.

afterAll(dropTestSchemas);

describe('leader failover on PostgreSQL', () => {
  const { cluster, clients } = useCluster();

  it('a standby takes over from a frozen leader; the worker follows; nothing runs twice', async () => {
    const group = [
      '--store',
      'postgres',
      '--database-url',
      TEST_DATABASE_URL,
      '--database-schema',
      testSchema(),
      '--lease-renew-ms',
      '200',
      '--lease-ms',
      '1000',
      // The worker must re-attach its running task within this (it follows in ~1 s).
      '--reattach-grace-ms',
      '4000',
    ];
    const first = await cluster().startLeader(group, 'leader-1');
    await first.process.waitForLine((l) => l.msg === 'leader active: took over');
    const second = await cluster().startLeader(group, 'leader-2');
    await second.process.waitForLine((l) => l.msg === 'standing by for the lease');

    // The standby refuses, naming the active leader (once its first round has read the lease).
    const refusal = async (address: string) => {
      const err = (await clients(address)
        .task('none')
        .catch((e: unknown) => e)) as ServiceError;
      return { code: err.code, leader: err.metadata?.get('drover-leader')[0] };
    };
    const named = await waitFor(
      async () => {
        const seen = await refusal(second.address);
        return seen.leader !== undefined && seen;
      },
      { timeoutMs: 5_000, what: 'the standby naming the active leader' },
    );
    expect(named).toEqual({ code: status.UNAVAILABLE, leader: first.address });

    const worker = await cluster().startWorker(`${first.address},${second.address}`, 'w1', [
      '--slots',
      '2',
    ]);
    await clients(first.address).schedule({ id: 'long', payload: '2500' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    first.process.kill('SIGSTOP');
    await second.process.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    const api = clients(second.address);
    expect(await api.task('long')).toMatchObject({ status: TaskStatus.TASK_STATUS_RUNNING });
    await api.schedule({ id: 'after', payload: '1' });

    const done = await waitFor(
      async () => {
        const [long, after] = [await api.task('long'), await api.task('after')];
        const finished = [long, after].every((t) => t.status === TaskStatus.TASK_STATUS_COMPLETED);
        return finished && { long, after };
      },
      { timeoutMs: 20_000, what: 'both tasks completed on the new leader' },
    );
    expect(done.long).toMatchObject({ attempt: 1, memberId: 'w1', result: 'worked 2500 ms' });
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'long')).toHaveLength(1);

    // Woken, the old leader finds its term over: it steps down and sends callers on.
    first.process.kill('SIGCONT');
    await first.process.waitForLine((l) => l.msg === 'leader stepped down; standing by');
    const sentOn = await waitFor(
      async () => {
        const seen = await refusal(first.address);
        return seen.leader === second.address && seen;
      },
      { timeoutMs: 10_000, what: 'the old leader naming the new one' },
    );
    expect(sentOn).toEqual({ code: status.UNAVAILABLE, leader: second.address });
  }, 60_000);
});
