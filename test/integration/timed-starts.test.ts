import { describe, expect, it } from 'vitest';
import { waitFor, type DroverProcess } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';
import { counter } from '../helpers/metrics-page.js';

// Timed starts (issue #18) on real processes: a delayed task goes to its worker a lead
// before its run time and starts on the worker's own timer, never before the run time.

interface WireTask {
  id: string;
  status?: string;
  runAt?: string;
  memberId?: string;
  attempt?: number;
}

/** When the worker's handler started each attempt of `id` (its log lines, same clock). */
function startsOf(worker: DroverProcess, id: string): number[] {
  return worker
    .linesWith('task started')
    .filter((line) => line['taskId'] === id)
    .map((line) => Number(line['time']));
}

describe('timed starts', () => {
  const { cluster } = useCluster();

  async function schedule(http: string, id: string, delayMs: number): Promise<void> {
    const made = await fetch(`${http}/v1/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id, payload: '1', delay_ms: delayMs }),
    });
    expect(made.status).toBe(201);
  }

  const task = async (http: string, id: string) =>
    (await (await fetch(`${http}/v1/tasks/${id}`)).json()) as WireTask;

  async function completed(http: string, ids: string[]): Promise<WireTask[]> {
    return waitFor(
      async () => {
        const tasks = await Promise.all(ids.map((id) => task(http, id)));
        return tasks.every((t) => t.status === 'TASK_STATUS_COMPLETED') && tasks;
      },
      { timeoutMs: 15_000, what: `${ids.length} delayed tasks completed` },
    );
  }

  it('hands delayed tasks to the worker ahead of their run time; each starts on time, never before', async () => {
    // A lead of 1 s rather than the default 100 ms: a leader whose event loop lags on a
    // loaded CI machine still hands every task out ahead (with 100 ms, a lag past it once
    // started 5 of the 20 the ordinary way, at their run time).
    const { address, http } = await cluster().startLeader(['--timed-start-lead-ms', '1000']);
    const worker = await cluster().startWorker(address, 'w', ['--slots', '4']);
    const ids = Array.from({ length: 20 }, (_, i) => `d${i}`);
    for (const id of ids) await schedule(http, id, 1_500);
    for (const done of await completed(http, ids)) {
      const [started, ...again] = startsOf(worker, done.id);
      expect(again).toEqual([]);
      expect(started).toBeGreaterThanOrEqual(Date.parse(done.runAt!));
    }
    expect(await counter(http, 'drover_task_attempts_timed_total')).toBe(20);
  });

  it('with --timed-start-lead-ms 0 nothing is handed ahead: tasks start when they fall due', async () => {
    const { address, http } = await cluster().startLeader(['--timed-start-lead-ms', '0']);
    const worker = await cluster().startWorker(address, 'w');
    await schedule(http, 'd', 300);
    const [done] = await completed(http, ['d']);
    expect(startsOf(worker, 'd')[0]).toBeGreaterThanOrEqual(Date.parse(done!.runAt!));
    expect(await counter(http, 'drover_task_attempts_timed_total')).toBe(0);
  });

  it('a worker killed while it holds a timed start: the task waits for its run time again, then runs once elsewhere', async () => {
    const { address, http } = await cluster().startLeader(['--timed-start-lead-ms', '4000']);
    const first = await cluster().startWorker(address, 'w1');
    await schedule(http, 'd', 5_000);
    // Handed ahead at once (its run time is within the lead): running on w1, not started.
    const held = await waitFor(
      async () => {
        const t = await task(http, 'd');
        return t.status === 'TASK_STATUS_RUNNING' && t;
      },
      { timeoutMs: 3_000, what: 'the delayed task handed to w1 ahead of its run time' },
    );
    expect(held.memberId).toBe('w1');
    first.kill('SIGKILL');
    // w1 is found dead well before the run time: the task waits for it again.
    const waiting = await waitFor(
      async () => {
        const t = await task(http, 'd');
        return t.status === 'TASK_STATUS_SCHEDULED' && t;
      },
      { timeoutMs: 3_000, what: 'the task back to waiting for its run time' },
    );
    expect(Date.parse(waiting.runAt!)).toBeGreaterThan(Date.now());
    const second = await cluster().startWorker(address, 'w2');
    const [done] = await completed(http, ['d']);
    expect(done).toMatchObject({ memberId: 'w2', attempt: 2 });
    expect(startsOf(first, 'd')).toEqual([]);
    const starts = startsOf(second, 'd');
    expect(starts).toHaveLength(1);
    expect(starts[0]).toBeGreaterThanOrEqual(Date.parse(done!.runAt!));
  });
});
