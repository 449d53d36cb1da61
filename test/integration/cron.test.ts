import { describe, expect, it } from 'vitest';
import { drover } from '../helpers/cli-run.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// Cron schedules (issue #18) on real processes: added over the CLI and the strict Python
// client, firing on time, each firing one task named after it, none twice across a
// leader's SIGKILL and restart.

type TaskJson = { id: string; status: string; payload: string };

describe('cron schedules', () => {
  const { cluster } = useCluster();

  it('fires each second once, with ids from the firing time, and never twice across a restart', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const at = (address: string) => ['--leader', address];
    // None yet: the list is there, empty, for scripts (jq '.schedules[]').
    const none = await drover(...at(first.address), 'cron', 'list', '--json');
    expect(JSON.parse(none.stdout)).toEqual({ schedules: [] });
    const added = await drover(
      'cron',
      'add',
      ...at(first.address),
      'tick',
      '* * * * * *',
      '1',
      '--kind',
      'default',
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(
      /cron schedule tick: next firing \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z/,
    );
    const list = async (http: string) =>
      ((await (await fetch(`${http}/v1/tasks?pageSize=1000`)).json()) as { tasks?: TaskJson[] })
        .tasks ?? [];
    await waitFor(async () => (await list(first.http)).length >= 2, {
      timeoutMs: 5_000,
      what: 'two firings',
    });
    first.process.kill('SIGKILL');
    await first.process.exited;
    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    await cluster().startWorker(second.address, 'w1');
    await waitFor(async () => (await list(second.http)).length >= 5, {
      timeoutMs: 8_000,
      what: 'more firings after the restart',
    });
    const ids = (await list(second.http)).map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const times = ids.map((id) => Date.parse(id.slice('tick@'.length))).sort((a, b) => a - b);
    // Whole seconds, each at most once; the seconds the leader was down are made up once.
    for (let i = 1; i < times.length; i++)
      expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
    const shown = await drover('cron', 'list', ...at(second.address));
    expect(shown.stdout).toMatch(/tick\s+\* \* \* \* \* \*\s+UTC\s+default\s+active/);
    expect((await drover('cron', 'pause', ...at(second.address), 'tick')).stdout).toMatch(
      /paused cron schedule tick/,
    );
    expect((await drover('cron', 'remove', ...at(second.address), 'tick')).stdout).toMatch(
      /removed/,
    );
    expect((await drover('cron', ...at(second.address))).stdout).toMatch(/no cron schedules/);
  });

  it('over a strict gRPC client: add in a zone, list, refuse bad input with a clear message', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address } = await cluster().startLeader();
    const rpc = (method: string, body: object) =>
      pyJson(['-d', JSON.stringify(body), address, `scheduler.v1.SchedulerService/${method}`]);
    const added = (await rpc('AddCronSchedule', {
      schedule: {
        name: 'nightly',
        expression: '0 3 * * *',
        timeZone: 'Europe/Berlin',
        task: { payload: 'report', kind: 'default', concurrencyKey: 'reports' },
      },
    })) as { schedule: { nextRun: string; task: { concurrencyKey: string } } };
    // 03:00 in Berlin is 01:00 or 02:00 UTC, depending on summer time.
    expect(added.schedule.nextRun).toMatch(/T0[12]:00:00Z$/);
    expect(added.schedule.task.concurrencyKey).toBe('reports');
    const again = rpc('AddCronSchedule', {
      schedule: { name: 'nightly', expression: '* * * * *', task: { payload: 'p' } },
    });
    await expect(again).rejects.toThrow(/ALREADY_EXISTS[\s\S]*exists already/);
    await expect(
      rpc('AddCronSchedule', {
        schedule: {
          name: 'x',
          expression: '0 3 * * *',
          timeZone: 'Nowhere/Land',
          task: { payload: 'p' },
        },
      }),
    ).rejects.toThrow(/INVALID_ARGUMENT[\s\S]*time zone "Nowhere\/Land" is not known/);
    await expect(
      rpc('AddCronSchedule', {
        schedule: { name: 'x', expression: '0 25 * * *', task: { payload: 'p' } },
      }),
    ).rejects.toThrow(/INVALID_ARGUMENT[\s\S]*not valid/);
    await expect(
      rpc('AddCronSchedule', {
        schedule: { name: 'x', expression: '0 3 * * *', task: { payload: 'p', id: 'fixed' } },
      }),
    ).rejects.toThrow(/INVALID_ARGUMENT[\s\S]*takes no id, run_at, delay_ms or idempotency key/);
    // Added "paused" would fire all the same: refused, not ignored.
    await expect(
      rpc('AddCronSchedule', {
        schedule: { name: 'x', expression: '0 3 * * *', paused: true, task: { payload: 'p' } },
      }),
    ).rejects.toThrow(/INVALID_ARGUMENT[\s\S]*a schedule is added running; pause it after/);
    const listed = (await rpc('ListCronSchedules', {})) as { schedules: { name: string }[] };
    expect(listed.schedules.map((s) => s.name)).toEqual(['nightly']);
    expect(await rpc('PauseCronSchedule', { name: 'nightly' })).toMatchObject({ changed: true });
    await expect(rpc('ResumeCronSchedule', { name: 'nope' })).rejects.toThrow(/NOT_FOUND/);
  });
});
