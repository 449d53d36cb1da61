import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { useCluster } from '../helpers/use-cluster.js';

// PostgreSQL restarted under a running leader, on a server of the test's own: the leader
// stops acting while the database is gone, then takes the lease again and goes on; every
// acknowledged task completes, none twice.

let server: PrivatePostgres | undefined;
afterEach(async () => {
  await server?.destroy();
  server = undefined;
});

describe('PostgreSQL restarted under a running leader', () => {
  const { cluster, clients } = useCluster();

  it('steps down while the database is gone, resumes after, and loses nothing', async () => {
    server = await PrivatePostgres.create();
    const leader = await cluster().startLeader(
      [
        '--store',
        'postgres',
        '--database-url',
        server.url(),
        '--lease-renew-ms',
        '200',
        '--lease-ms',
        '1000',
        '--reattach-grace-ms',
        '3000',
      ],
      'leader',
    );
    await leader.process.waitForLine((l) => l.msg === 'leader active: took over');
    const worker = await cluster().startWorker(leader.address, 'w1', ['--slots', '2']);
    const api = clients(leader.address);
    const acknowledged: string[] = [];
    for (let i = 0; i < 5; i++) {
      await api.schedule({ id: `before-${i}`, payload: '20' });
      acknowledged.push(`before-${i}`);
    }
    await api.schedule({ id: 'long', payload: '3000' });
    acknowledged.push('long');
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    await server.stop();
    await leader.process.waitForLine((l) => l.msg === 'leader stepped down; standing by', 10_000);
    // While the database is down the leader refuses work: nothing is acknowledged unsaved.
    await expect(api.schedule({ id: 'during', payload: '1' })).rejects.toMatchObject({ code: 14 });

    await server.start();
    await leader.process.waitForLine(
      (l) => l.msg === 'leader active: took over' && Number(l['term']) > 1,
      20_000,
    );
    for (let i = 0; i < 5; i++) {
      await api.schedule({ id: `after-${i}`, payload: '20' });
      acknowledged.push(`after-${i}`);
    }

    const all = await api.whenAllFinished('every task finished after the restart', 30_000);
    const byId = new Map(all.map((t) => [t.id, t]));
    for (const id of acknowledged) {
      expect(byId.get(id)?.status, id).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    }
    expect(byId.has('during')).toBe(false);
    // The long task ran once: re-attached on the new term, not started again.
    const starts = worker.linesWith('task started').filter((l) => l['taskId'] === 'long');
    expect(starts).toHaveLength(1);
    expect(byId.get('long')).toMatchObject({ attempt: 1, result: 'worked 3000 ms' });
  }, 90_000);
});
