import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// Pause and resume per kind (issue #18) on real processes: the CLI, HTTP with fetch's
// default headers, and the strict Python gRPC client.

describe('pausing a kind', () => {
  const { cluster } = useCluster();

  it('holds queued tasks across a leader restart, says why they wait, and resume runs them', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    await cluster().startWorker(first.address, 'w1');
    const at = (address: string) => ['--leader', address];
    expect((await drover('pause', ...at(first.address), '--kind', 'default')).stdout).toMatch(
      /paused kind default/,
    );
    expect((await drover('schedule', ...at(first.address), '--id', 'p1', '10')).code).toBe(0);
    const shown = await drover('task', ...at(first.address), 'p1');
    expect(shown.stdout).toMatch(/status\s+pending/);
    expect(shown.stdout).toMatch(/waiting\s+paused: kind default/);

    first.process.kill('SIGKILL');
    await first.process.exited;
    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    await cluster().startWorker(second.address, 'w2');
    const pauses = (await (await fetch(`${second.http}/v1/pauses`)).json()) as {
      pauses: { kind: string; since: string }[];
    };
    expect(pauses.pauses.map((p) => p.kind)).toEqual(['default']);
    const task = (await (await fetch(`${second.http}/v1/tasks/p1`)).json()) as {
      status: string;
      waiting: string;
    };
    expect(task).toMatchObject({ status: 'TASK_STATUS_PENDING', waiting: 'paused: kind default' });

    const resumed = await fetch(`${second.http}/v1/kinds/default:resume`, { method: 'POST' });
    expect(await resumed.json()).toEqual({ changed: true });
    await waitFor(
      async () => {
        const t = (await (await fetch(`${second.http}/v1/tasks/p1`)).json()) as { status: string };
        return t.status === 'TASK_STATUS_COMPLETED';
      },
      { timeoutMs: 10_000, what: 'p1 completed after resume' },
    );
    expect((await drover('pauses', ...at(second.address))).stdout).toMatch(/nothing is paused/);
  });

  it('over a strict gRPC client: Pause, ListPauses, Resume; a bad kind is INVALID_ARGUMENT', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const rpc = (method: string, body: object) =>
      pyJson(['-d', JSON.stringify(body), address, `scheduler.v1.SchedulerService/${method}`]);
    const paused = (await rpc('Pause', { kind: 'mail.send' })) as {
      pause: { kind: string; since: string };
      changed: boolean;
    };
    expect(paused.changed).toBe(true);
    expect(paused.pause.kind).toBe('mail.send');
    expect(Number.isNaN(Date.parse(paused.pause.since))).toBe(false);
    expect(await rpc('Pause', { kind: 'mail.send' })).toMatchObject({ pause: paused.pause });
    expect(await rpc('ListPauses', {})).toEqual({ pauses: [paused.pause] });
    await expect(rpc('Pause', { kind: 'not a kind' })).rejects.toThrow(/not valid/);
    expect(await rpc('Resume', { kind: 'mail.send' })).toEqual({ changed: true });
    expect(await rpc('Resume', { kind: 'mail.send' })).toEqual({});
    expect(await rpc('ListPauses', {})).toEqual({});
  });
});
