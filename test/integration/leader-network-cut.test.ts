import { afterEach, describe, expect, it } from 'vitest';
import { status, type ServiceError } from '@grpc/grpc-js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { NetworkLab } from '../helpers/network-lab.js';
import { PrivatePostgres } from '../helpers/private-postgres.js';
import { DROVER_BIN, FAST_TIMINGS, waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// The active leader cut off from PostgreSQL (and everyone else) by a real partition: it
// runs in a network namespace this test makes, joined by a veth pair to a private bridge
// where a PostgreSQL of the test's own also listens; the cut takes the link down (packets
// vanish, no RST), so the database keeps the leader's session open and a standby must wait
// out the lease. Skipped, saying why, where namespaces are not allowed.
const lab = NetworkLab.probe();
const title = lab.ok
  ? 'a leader cut off from PostgreSQL'
  : `a leader cut off from PostgreSQL (skipped: network namespaces unavailable: ${lab.reason})`;

describe.skipIf(!lab.ok)(title, () => {
  const { cluster, clients } = useCluster();
  let network: NetworkLab | undefined;
  let server: PrivatePostgres | undefined;

  afterEach(async () => {
    network?.destroy();
    network = undefined;
    await server?.destroy();
    server = undefined;
  });

  it('steps down by its deadline; the standby waits out the lease, takes over, and the worker follows; healed, it stays a standby', async () => {
    network = NetworkLab.create();
    server = await PrivatePostgres.create({ listen: network.hostIp, trust: '10.231.0.0/16' });
    const group = (listen: string) => [
      'leader',
      '--store',
      'postgres',
      '--database-url',
      server!.url(network!.hostIp),
      '--listen',
      listen,
      '--no-http',
      '--allow-insecure',
      '--no-auth',
      '--lease-renew-ms',
      '200',
      '--lease-ms',
      '1000',
      '--reattach-grace-ms',
      '5000',
      ...FAST_TIMINGS,
    ];
    const inNs0 = network.addNamespace(0);
    const nsIp = network.hostIp.replace(/\.1$/, '.2');
    const first = cluster().spawnScript('leader-a', DROVER_BIN, group(`${nsIp}:0`), inNs0);
    const firstAddress = await listening(first);
    await first.waitForLine((l) => l.msg === 'leader active: took over');
    const second = cluster().spawn('leader-b', group(`${network.hostIp}:0`));
    const secondAddress = await listening(second);
    await second.waitForLine((l) => l.msg === 'standing by for the lease');

    const worker = await cluster().startWorker(`${firstAddress},${secondAddress}`, 'w1', [
      '--slots',
      '2',
    ]);
    await clients(firstAddress).schedule({ id: 'long', payload: '2500' });
    await worker.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'long');

    const cutAt = Date.now();
    network.cut(0);
    const down = await first.waitForLine(
      (l) => l.msg === 'leader stepped down; standing by',
      10_000,
    );
    expect(String(down['reason'])).toMatch(/not renewed before its deadline/);
    const took = await second.waitForLine((l) => l.msg === 'leader active: took over', 15_000);
    // The database kept the cut leader's session: the standby waited out its lease. The
    // lease (1000 ms) runs from the last renewal, which may have come up to one renew
    // interval (200 ms) before the cut: so at least 800 ms after it. (900 failed once in CI
    // at 888 ms: a renewal just under 200 ms before the cut.)
    expect(Number(took['time']) - cutAt).toBeGreaterThanOrEqual(800);
    expect(Number(took['term'])).toBe(2);

    const api = clients(secondAddress);
    await api.schedule({ id: 'after', payload: '1' });
    const all = await api.whenAllFinished('both tasks finished on the new leader');
    expect(all.map((t) => [t.id, t.status, t.attempt])).toEqual([
      ['long', TaskStatus.TASK_STATUS_COMPLETED, 1],
      ['after', TaskStatus.TASK_STATUS_COMPLETED, 1],
    ]);
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'long')).toHaveLength(1);

    // Healed, the old leader finds the lease taken: it stays a standby and names the new one.
    network.heal(0);
    const named = await waitFor(
      async () => {
        const err = (await clients(firstAddress)
          .task('long')
          .catch((e: unknown) => e)) as ServiceError;
        const hint = err.metadata?.get('drover-leader')[0];
        return err.code === status.UNAVAILABLE && hint === secondAddress && hint;
      },
      { timeoutMs: 15_000, what: 'the healed leader naming the new one' },
    );
    expect(named).toBe(secondAddress);
    expect(first.linesWith('leader active: took over')).toHaveLength(1);
  }, 90_000);
});

async function listening(proc: {
  waitForLine: (m: (l: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>>;
}): Promise<string> {
  const line = await proc.waitForLine((l) => l['msg'] === 'leader listening');
  return (line['addresses'] as string[])[0]!;
}
