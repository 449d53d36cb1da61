import { describe, expect, it } from 'vitest';
import { TaskStatus } from '../helpers/grpc-clients.js';
import { waitFor } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';

// Prefetch on real processes: a worker whose tasks are short is handed tasks beyond its
// free slots, which wait on the worker; it never runs more handlers at once than it has
// slots, every task runs once, and `--prefetch 0` turns it off.

/** Most intervals [start, end) that overlap at any instant. */
function mostAtOnce(intervals: readonly [number, number][]): number {
  const edges = intervals.flatMap(([s, e]): [number, number][] => [
    [s, 1],
    [e, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (now += delta));
  return most;
}

describe('prefetch', () => {
  const { cluster, clients } = useCluster();

  /**
   * A leader and one worker of 2 slots that has just run 10 short tasks; then 6 tasks of
   * 400 ms scheduled at once. Returns how many were running right after scheduling.
   */
  async function run(leaderArgs: string[], options: { idleOther?: boolean } = {}) {
    const { address } = await cluster().startLeader(leaderArgs);
    const worker = await cluster().startWorker(address, 'w', ['--slots', '2']);
    // Every task is for w: an idle worker that cannot take them must not hold prefetch back.
    const target = options.idleOther ? { targetMemberId: 'w' } : {};
    if (options.idleOther) await cluster().startWorker(address, 'other', ['--slots', '1']);
    const api = clients(address);
    for (let i = 0; i < 10; i++) {
      await api.schedule({ id: `short${i}`, payload: '1', ...target });
    }
    const done = (n: number) => async () =>
      (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === n;
    await waitFor(done(10), { timeoutMs: 10_000, what: 'the short tasks completed' });
    // One call: the tasks are saved with their assignments before it answers.
    await api.scheduleMany(
      Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, payload: '400', ...target })),
    );
    const runningAtOnce = (await api.tasks(TaskStatus.TASK_STATUS_RUNNING)).length;
    await waitFor(done(16), { timeoutMs: 15_000, what: 'every task completed' });
    const spans = new Map<string, [number, number]>();
    for (const line of worker.linesWith('task started')) {
      spans.set(String(line['taskId']), [Number(line['time']), Infinity]);
    }
    for (const line of worker.linesWith('task finished')) {
      spans.get(String(line['taskId']))![1] = Number(line['time']);
    }
    return { runningAtOnce, worker, spans };
  }

  it('hands a worker of short tasks up to --prefetch tasks ahead, never runs more than its slots', async () => {
    const { runningAtOnce, worker, spans } = await run(['--prefetch', '2']);
    // 2 in slots, 2 ahead (the worker's average attempt was a few ms, well under 50).
    expect(runningAtOnce).toBe(4);
    // Each task's handler ran once, and never more than 2 at once.
    expect(worker.linesWith('task started')).toHaveLength(16);
    expect(spans.size).toBe(16);
    const longs = [...spans].filter(([id]) => id.startsWith('long')).map(([, span]) => span);
    expect(mostAtOnce(longs)).toBe(2);
  });

  it('by default hands a worker of very short tasks several per slot, still running 2 at once', async () => {
    // Attempts of a few ms: many per slot fit in 50 ms, so all 4 beyond the slots go ahead.
    const { runningAtOnce, worker, spans } = await run([]);
    expect(runningAtOnce).toBe(6);
    expect(worker.linesWith('task started')).toHaveLength(16);
    const longs = [...spans].filter(([id]) => id.startsWith('long')).map(([, span]) => span);
    expect(mostAtOnce(longs)).toBe(2);
  });

  it('prefetches to a worker while another idles that cannot take its tasks', async () => {
    const { runningAtOnce, worker, spans } = await run(['--prefetch', '2'], { idleOther: true });
    expect(runningAtOnce).toBe(4);
    expect(worker.linesWith('task started')).toHaveLength(16);
    const longs = [...spans].filter(([id]) => id.startsWith('long')).map(([, span]) => span);
    expect(mostAtOnce(longs)).toBe(2);
  });

  it('--prefetch 0 hands a worker no more than its free slots', async () => {
    const { runningAtOnce, spans } = await run(['--prefetch', '0']);
    expect(runningAtOnce).toBe(2);
    expect(spans.size).toBe(16);
  });
});
