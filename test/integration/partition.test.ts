import { afterEach, describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { NetworkLab } from '../helpers/network-lab.js';
import { FAST_TIMINGS, waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Real partitions: workers live in network namespaces this test makes, joined to the
// leader by veth pairs on a private bridge, and one of them is cut off by taking its link
// down (packets vanish, no RST). Where namespaces are not allowed, the test says so in its
// name and skips; SIGSTOP (faults.test.ts) covers the frozen case everywhere.
const lab = NetworkLab.probe();
const title = lab.ok
  ? 'network partitions'
  : `network partitions (skipped: network namespaces unavailable: ${lab.reason})`;

describe.skipIf(!lab.ok)(title, () => {
  const { cluster, clients } = useCluster();
  let network: NetworkLab | undefined;

  afterEach(() => {
    network?.destroy();
    network = undefined;
  });

  it('runs a cut-off worker’s task elsewhere and refuses its late report when it comes back', async () => {
    network = NetworkLab.create();
    const leader = cluster().spawn('leader', [
      'leader',
      '--listen',
      `${network.hostIp}:0`,
      '--allow-insecure',
      '--no-auth',
      '--store',
      'memory',
      ...FAST_TIMINGS,
    ]);
    const listening = await leader.waitForLine((l) => l.msg === 'leader listening');
    const address = (listening['addresses'] as string[])[0]!;
    const inNs0 = network.addNamespace(0);
    const inNs1 = network.addNamespace(1);
    const cut = await cluster().startWorker(address, 'cut', ['--slots', '1'], inNs0);
    const api = clients(address);
    // Long enough to outlast detection and the run elsewhere, short enough to end while cut.
    await api.schedule({ id: 'job', payload: '2500' });
    await cut.waitForLine((l) => l.msg === 'task started' && l['taskId'] === 'job');
    await cluster().startWorker(address, 'other', ['--slots', '1'], inNs1);

    network.cut(0);
    const dead = await leader.waitForLine(
      (l) => l.msg === 'member dead' && l['memberId'] === 'cut',
    );
    // No RST arrives: only the missing heartbeats tell.
    expect(String(dead['reason'])).toMatch(/no heartbeat for \d+ ms/);
    const done = await waitFor(
      async () => {
        const task = await api.task('job');
        return task.status === TaskStatus.TASK_STATUS_COMPLETED && task;
      },
      { timeoutMs: 15_000, what: 'job completed on the other worker' },
    );
    expect(done).toMatchObject({ attempt: 2, memberId: 'other' });
    // Meanwhile, behind the cut, the first attempt ran to its end.
    await cut.waitForLine(
      (l) => l.msg === 'task finished' && l['taskId'] === 'job' && l['attempt'] === 1,
    );

    network.heal(0);
    const refused = await cut.waitForLine(
      (l) => l.msg === 'report refused' && l['taskId'] === 'job',
      20_000,
    );
    expect(refused).toMatchObject({ attempt: 1, code: 9 /* FAILED_PRECONDITION */ });
    expect(await api.task('job')).toMatchObject({
      status: TaskStatus.TASK_STATUS_COMPLETED,
      attempt: 2,
      memberId: 'other',
    });
    // Back in the cluster, and the task list never shows attempt 1 again.
    await waitFor(async () => (await api.member('cut'))?.status === 'alive', {
      timeoutMs: 20_000,
      what: 'cut rejoined',
    });
    const completions = leader.linesWith('task completed').filter((l) => l['taskId'] === 'job');
    expect(completions).toHaveLength(1);
  });
});
