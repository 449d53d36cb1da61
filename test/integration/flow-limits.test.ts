import type { ClientReadableStream } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { TaskEventKind, type WatchTasksResponse } from '../../src/gen/scheduler/v1/scheduler.js';
import { drover } from '../helpers/cli-run.js';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { pyJson, pythonClientMissing, skipPython } from '../helpers/strict-python.js';
import { useCluster } from '../helpers/use-cluster.js';

// Concurrency and rate limits per key (issue #18) on real processes: limits set over the
// strict Python gRPC client, HTTP and the CLI; what ran when read back from the leader.

/** Most intervals [start, end) that overlap at any instant. */
function mostAtOnce(intervals: readonly [number, number][]): number {
  const edges = intervals.flatMap(([s, e]): [number, number][] => [
    [s, 1],
    [e, -1],
  ]);
  // Ends before starts at the same ms: a slot freed and taken in one turn is not two.
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (now += delta));
  return most;
}

describe('concurrency limits per key', () => {
  const { cluster, clients } = useCluster();

  it('never runs more of a key than its limit, never holds up other keys, and says why tasks wait', async (ctx) => {
    if (skipPython) ctx.skip(pythonClientMissing);
    const { address, http } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '4']);
    await cluster().startWorker(address, 'w2', ['--slots', '4']);
    const rpc = (method: string, body: object) =>
      pyJson(['-d', JSON.stringify(body), address, `scheduler.v1.SchedulerService/${method}`]);
    expect(await rpc('SetLimit', { limit: { key: 'customer:42', maxRunning: 2 } })).toEqual({
      limit: { key: 'customer:42', maxRunning: 2 },
    });
    const api = clients(address);
    for (let i = 0; i < 8; i++) {
      await api.schedule({ id: `big${i}`, payload: '1000', concurrencyKey: 'customer:42' });
    }
    // Scheduled after all of customer:42's: they must not wait behind it.
    for (let i = 0; i < 3; i++) {
      await api.schedule({ id: `small${i}`, payload: '150', concurrencyKey: 'customer:7' });
    }
    // The last of the key's eight: it waits at least three rounds of 1 s. Asked again if
    // the question fell between an end and the next start (the key at 1/2 for a moment).
    const atLimit = /waiting\s+concurrency customer:42 2\/2/;
    await waitFor(
      async () => atLimit.test((await drover('task', '--leader', address, 'big7')).stdout),
      { timeoutMs: 2_500, what: 'big7 shown waiting for its key' },
    );
    await waitFor(
      async () => {
        const { limits } = (await (await fetch(`${http}/v1/limits`)).json()) as {
          limits: { key: string; running: number; queued: number }[];
        };
        return limits[0]?.key === 'customer:42' && limits[0].running === 2;
      },
      { timeoutMs: 2_500, what: 'the key at its limit in /v1/limits' },
    );
    await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 11, {
      timeoutMs: 20_000,
      what: 'all 11 tasks completed',
    });
    const tasks = await api.tasks();
    const span = (id: string): [number, number] => {
      const t = tasks.find((task) => task.id === id)!;
      return [t.startedAt!.getTime(), t.finishedAt!.getTime()];
    };
    expect(mostAtOnce(tasks.filter((t) => t.id.startsWith('big')).map((t) => span(t.id)))).toBe(2);
    // The small tenant's three ran at once, next to the big one's two, at the start.
    const firstBigEnd = Math.min(
      ...tasks.filter((t) => t.id.startsWith('big')).map((t) => span(t.id)[1]),
    );
    for (let i = 0; i < 3; i++) expect(span(`small${i}`)[0]).toBeLessThan(firstBigEnd);
  });

  it('spaces starts by a rate limit, keeps limits across a restart, and tells watchers', async () => {
    const dataDir = cluster().dataDir();
    const first = await cluster().startLeader(['--data-dir', dataDir]);
    const set = await fetch(`${first.http}/v1/limits/keys/api`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      // The proto's snake_case names, as task bodies take them.
      body: JSON.stringify({ rate_count: 5, rate_interval_ms: 1000 }),
    });
    expect(set.status).toBe(200);
    const twice = await fetch(`${first.http}/v1/limits/keys/api`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateCount: 5, rate_count: 6, rateIntervalMs: 1000 }),
    });
    expect(twice.status).toBe(400);
    expect(await twice.json()).toEqual({
      error: 'body: "rateCount" and "rate_count" are the same field; send one of them',
    });
    const bad = await fetch(`${first.http}/v1/limits/keys/api`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateCount: 5 }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'set rate_count and rate_interval_ms together' });
    first.process.kill('SIGKILL');
    await first.process.exited;

    const second = await cluster().startLeader(['--data-dir', dataDir], 'leader-2');
    await cluster().startWorker(second.address, 'w1', ['--slots', '8']);
    const api = clients(second.address);
    const events: WatchTasksResponse[] = [];
    const watch: ClientReadableStream<WatchTasksResponse> = api.scheduler.watchTasks({
      status: TaskStatus.TASK_STATUS_UNSPECIFIED,
      memberId: '',
      includeControls: true,
      kind: '',
      id: '',
      untilEnded: false,
    });
    watch.on('data', (e: WatchTasksResponse) => events.push(e));
    watch.on('error', () => {});
    await waitFor(() => events.some((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED), {
      timeoutMs: 5_000,
      what: 'watch synced',
    });
    const listed = await drover('limits', '--leader', second.address);
    expect(listed.stdout).toMatch(/key api\s+-\s+5\/1s/);
    for (let i = 0; i < 6; i++)
      await api.schedule({ id: `r${i}`, payload: '1', concurrencyKey: 'api' });
    await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 6, {
      timeoutMs: 10_000,
      what: 'six rate-limited tasks completed',
    });
    const starts = (await api.tasks()).map((t) => t.startedAt!.getTime()).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) {
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(199);
    }
    expect(
      (await drover('limits', 'set', '--leader', second.address, 'api', '--max-running', '1')).code,
    ).toBe(0);
    const controls = () => events.filter((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_CONTROL);
    await waitFor(() => controls().length === 2, { timeoutMs: 5_000, what: 'a control event' });
    // The snapshot held the stored limit (before SYNCED); the change came after it.
    const synced = events.findIndex((e) => e.kind === TaskEventKind.TASK_EVENT_KIND_SYNCED);
    expect(events.indexOf(controls()[0]!)).toBeLessThan(synced);
    expect(controls()[0]!.control?.control).toEqual({
      $case: 'limit',
      value: expect.objectContaining({ key: 'api', rateCount: 5, rateIntervalMs: 1000 }),
    });
    expect(controls()[1]!.control?.control).toEqual({
      $case: 'limit',
      value: expect.objectContaining({ key: 'api', maxRunning: 1 }),
    });
    watch.cancel();
  });

  it('pauses and resumes one key over the CLI; its tasks wait, others run', async () => {
    const { address } = await cluster().startLeader();
    await cluster().startWorker(address, 'w1', ['--slots', '2']);
    const at = ['--leader', address];
    expect((await drover('pause', ...at, '--key', 'tenant-a')).stdout).toMatch(
      /paused key tenant-a/,
    );
    expect((await drover('pause', ...at)).code).toBe(2);
    await drover('schedule', ...at, '--id', 'a1', '--concurrency-key', 'tenant-a', '1');
    await drover('schedule', ...at, '--id', 'b1', '--concurrency-key', 'tenant-b', '1');
    const api = clients(address);
    await waitFor(async () => (await api.task('b1')).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5_000,
      what: 'b1 completed',
    });
    expect(await api.task('a1')).toMatchObject({
      status: TaskStatus.TASK_STATUS_PENDING,
      waiting: 'paused: key tenant-a',
    });
    expect((await drover('resume', ...at, '--key', 'tenant-a')).stdout).toMatch(
      /resumed key tenant-a/,
    );
    await waitFor(async () => (await api.task('a1')).status === TaskStatus.TASK_STATUS_COMPLETED, {
      timeoutMs: 5_000,
      what: 'a1 completed after resume',
    });
  });
});
