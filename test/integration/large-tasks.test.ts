import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Tasks near the payload limit (1 MiB), many at once, on real processes: what a leader
// sends a worker and what a page of GetTasks holds must each stay under the 4 MiB a gRPC
// client takes by default (found by a new-user trial: seven such starts went out as one
// 7 MB message, the worker refused it and lost its stream, and `drover tasks` failed).

describe('large tasks', () => {
  const { cluster, clients } = useCluster();

  it('seven 1 MB tasks assigned at once all run, and drover tasks lists them (paged by size)', async () => {
    const { address } = await cluster().startLeader();
    const api = clients(address);
    const payload = 'x'.repeat(1_000_000); // no number: the demo handler works its default
    for (let i = 0; i < 7; i++) await api.schedule({ id: `big${i}`, payload });
    // Queued first, so the worker's first heartbeat gets all seven at once.
    const worker = await cluster().startWorker(address, 'w1', [
      '--slots',
      '8',
      '--demo-default-ms',
      '50',
    ]);
    const done = await waitFor(
      async () => {
        const tasks = await api.tasks();
        return tasks.every((t) => t.status === TaskStatus.TASK_STATUS_COMPLETED) && tasks;
      },
      { timeoutMs: 20_000, what: 'seven large tasks completed' },
    );
    expect(done.map((t) => [t.id, t.attempt])).toEqual(
      Array.from({ length: 7 }, (_, i) => [`big${i}`, 1]),
    );
    expect(worker.linesWith('heartbeat stream closed')).toEqual([]);
    // The table (no payloads), read page by page: each page under the CLI's 4 MiB.
    const listed = await drover('tasks', '--leader', address);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const ids = listed.stdout.split('\n').flatMap((line) => /^(big\d)\s/.exec(line)?.[1] ?? []);
    expect(ids).toEqual(Array.from({ length: 7 }, (_, i) => `big${i}`));
  });
});
