import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// Delayed tasks (issue #18) on real processes, driven as users drive them: the strict
// Python gRPC client (no drover code), HTTP with fetch's default headers, and the CLI.

interface WireTask {
  id: string;
  status?: string;
  runAt?: string;
  startedAt?: string;
  attempt?: number;
}

/** When the worker's handler started the task (its own log line, same machine clock). */
function startedAtMs(worker: { linesWith(msg: string): Record<string, unknown>[] }, id: string) {
  const line = worker.linesWith('task started').find((l) => l['taskId'] === id);
  return line === undefined ? undefined : Number(line['time']);
}

describe('delayed tasks', () => {
  const { cluster } = useCluster();

  it('ScheduleTask with delay_ms over a strict gRPC client: SCHEDULED, then started no earlier than run_at', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const worker = await cluster().startWorker(address, 'w');
    const sent = Date.now();
    const made = (await pyJson([
      '-d',
      JSON.stringify({ task: { id: 'later', payload: '1', delayMs: '600' } }),
      address,
      'scheduler.v1.SchedulerService/ScheduleTask',
    ])) as { id: string };
    expect(made.id).toBe('later');
    const get = async () =>
      (
        (await pyJson([
          '-d',
          '{"id":"later"}',
          address,
          'scheduler.v1.SchedulerService/GetTask',
        ])) as { task: WireTask }
      ).task;
    // Each call of this client starts a Python process, so the 600 ms may be over by the
    // next call: what waits is checked on a task parked 10 minutes out instead.
    await pyJson([
      '-d',
      JSON.stringify({ task: { id: 'parked', payload: '1', delayMs: '600000' } }),
      address,
      'scheduler.v1.SchedulerService/ScheduleTask',
    ]);
    const listed = (await pyJson([
      '-d',
      '{"status":"TASK_STATUS_SCHEDULED"}',
      address,
      'scheduler.v1.SchedulerService/GetTasks',
    ])) as { tasks: WireTask[] };
    const parked = listed.tasks.find((t) => t.id === 'parked');
    expect(parked?.status).toBe('TASK_STATUS_SCHEDULED');
    expect(parked?.attempt ?? 0).toBe(0); // proto JSON leaves a 0 out
    expect(Date.parse(parked!.runAt!)).toBeGreaterThanOrEqual(sent + 600_000);

    const done = await waitFor(
      async () => {
        const task = await get();
        return task.status === 'TASK_STATUS_COMPLETED' && task;
      },
      { timeoutMs: 10_000, what: 'the delayed task completed' },
    );
    const runAtMs = Date.parse(done.runAt!);
    expect(runAtMs).toBeGreaterThanOrEqual(sent + 600);
    expect(startedAtMs(worker, 'later')).toBeGreaterThanOrEqual(runAtMs);
  });

  it('refuses run_at with delay_ms, and a run time past 366 days, with INVALID_ARGUMENT', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const both = JSON.stringify({
      task: { id: 'x', payload: '1', delayMs: '10', runAt: new Date().toISOString() },
    });
    await expect(
      pyJson(['-d', both, address, 'scheduler.v1.SchedulerService/ScheduleTask']),
    ).rejects.toThrow(/InvalidArgument|INVALID_ARGUMENT[\s\S]*set run_at or delay_ms, not both/);
    const far = JSON.stringify({ task: { id: 'y', payload: '1', runAt: '2999-01-01T00:00:00Z' } });
    await expect(
      pyJson(['-d', far, address, 'scheduler.v1.SchedulerService/ScheduleTask']),
    ).rejects.toThrow(/more than 366 days ahead/);
  });

  it('HTTP: run_at or delay_ms in the body, scheduled listed by status; bad input is a 400 that changes nothing', async () => {
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w');
    const post = (body: unknown) =>
      fetch(`${http}/v1/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const runAt = new Date(Date.now() + 60_000).toISOString();
    const made = await post({ id: 'h1', payload: '1', run_at: runAt });
    expect(made.status).toBe(201);
    expect(await made.json()).toMatchObject({ id: 'h1' });
    const soon = await post({ id: 'h2', payload: '1', delayMs: 300 });
    expect(soon.status).toBe(201);

    for (const [body, message] of [
      [{ payload: '1', delay_ms: 5, runAt }, /set run_at or delay_ms, not both/],
      [{ payload: '1', run_at: 'tomorrow' }, /run_at "tomorrow" is not a time: give an RFC 3339/],
      [{ payload: '1', run_at: '2026-02-30T03:00:00Z' }, /is not a time/],
      [{ payload: '1', runAt: '2026-12-01T03:00:00' }, /is not a time/],
      [{ payload: '1', delay_ms: -1 }, /delay_ms/],
      [{ payload: '1', runAt, run_at: runAt }, /same field/],
    ] as const) {
      const refused = await post(body);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toMatch(message);
    }
    const scheduled = (await (await fetch(`${http}/v1/tasks?status=scheduled`)).json()) as {
      tasks: WireTask[];
    };
    expect(scheduled.tasks.map((t) => [t.id, t.status])).toEqual(
      expect.arrayContaining([['h1', 'TASK_STATUS_SCHEDULED']]),
    );
    expect(scheduled.tasks.find((t) => t.id === 'h1')!.runAt).toBe(runAt);
    await waitFor(
      async () => {
        const task = (await (await fetch(`${http}/v1/tasks/h2`)).json()) as WireTask;
        return task.status === 'TASK_STATUS_COMPLETED';
      },
      { timeoutMs: 10_000, what: 'h2 (300 ms delay) completed' },
    );
    const all = (await (await fetch(`${http}/v1/tasks`)).json()) as { tasks: WireTask[] };
    expect(all.tasks.map((t) => t.id)).toEqual(['h1', 'h2']); // the refusals added nothing
  });

  it('CLI: --in and --at schedule, tasks --status scheduled lists, cancel ends it; bad times exit 2', async () => {
    const { address } = await cluster().startLeader();
    const leader = ['--leader', address];
    const made = await drover('schedule', ...leader, '--id', 'c1', '--in', '10m', '1');
    expect(made).toMatchObject({ code: 0, stdout: 'c1\n' });
    // A month from now, written with a +01:00 zone; shown back in UTC.
    const inAMonth = new Date(Math.floor(Date.now() / 1000) * 1000 + 30 * 86_400_000);
    const local = new Date(inAMonth.getTime() + 3_600_000).toISOString().replace('Z', '+01:00');
    const at = await drover('schedule', ...leader, '--id', 'c2', '--at', local, '1');
    expect(at).toMatchObject({ code: 0, stderr: '' });
    const listed = await drover('tasks', ...leader, '--status', 'scheduled');
    expect(listed.stdout).toMatch(/c1\s+scheduled \d{4}-\d\d-\d\dT/);
    expect(listed.stdout).toMatch(new RegExp(`c2\\s+scheduled ${inAMonth.toISOString()}`));
    const shown = await drover('task', ...leader, 'c2');
    expect(shown.stdout).toMatch(new RegExp(`run at\\s+${inAMonth.toISOString()}`));
    expect((await drover('cancel', ...leader, 'c1')).code).toBe(0);
    expect((await drover('task', ...leader, 'c1')).stdout).toMatch(/status\s+cancelled/);

    for (const [flags, message] of [
      [
        ['--in', '10'],
        /expected a duration such as 30s, 10m, 1h30m, 2d or 500ms \(units d, h, m, s, ms, largest first, each once\), got "10"/,
      ],
      [['--in', '1m1m'], /expected a duration such as .*, got "1m1m"/],
      [['--in', '5S'], /expected a duration such as .*, got "5S"/],
      [['--at', '2030-01-01T03:00:00'], /RFC 3339 time with its zone/],
      [['--at', '2026-02-30T03:00:00Z'], /RFC 3339 time with its zone/],
      [['--in', '400d'], /more than 366 days/],
      [['--in', '1m', '--at', inAMonth.toISOString()], /cannot be used with/],
      [['--at', '2999-01-01T03:00:00Z'], /more than 366 days ahead/],
    ] as const) {
      const refused = await drover('schedule', ...leader, ...flags, '1');
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(message);
    }
  });

  it('survives a restart: a task that fell due while no leader ran starts as soon as one does', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const runAtMs = Date.now() + 400;
    const made = await drover(
      'schedule',
      '--leader',
      first.address,
      '--id',
      'overdue',
      '--at',
      new Date(runAtMs).toISOString(),
      '1',
    );
    expect(made.code).toBe(0);
    first.process.kill('SIGKILL');
    await first.process.exited;
    // Bounded by the run time itself: the task must fall due while no leader runs.
    await waitFor(() => Date.now() > runAtMs + 50, { timeoutMs: 5_000, what: 'run time passed' });
    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    const worker = await cluster().startWorker(second.address, 'w');
    await waitFor(() => startedAtMs(worker, 'overdue'), {
      timeoutMs: 10_000,
      what: 'the overdue task started on the new leader',
    });
    const shown = await drover('task', '--leader', second.address, 'overdue');
    expect(shown.stdout).toMatch(/status\s+(running|completed)/);
    expect(worker.linesWith('task started').filter((l) => l['taskId'] === 'overdue')).toHaveLength(
      1,
    );
  });
});
