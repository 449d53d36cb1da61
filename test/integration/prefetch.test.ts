import { describe, expect, it } from 'vitest';
import { TaskStatus, type TestClients } from '../helpers/grpc-clients.js';
import { TaskPriority } from '../../src/gen/scheduler/v1/scheduler.js';
import { waitFor, type DroverProcess } from '../helpers/processes.js';
import { useCluster } from '../helpers/use-cluster.js';
import { counter } from '../helpers/metrics-page.js';

// Prefetch on real processes: a worker whose tasks are short is handed tasks beyond its
// free slots, which wait on the worker; it never runs more handlers at once than it has
// slots, every task runs once, and `--prefetch 0` turns it off.

/**
 * For the tests that need every task handed ahead: the workers' 1 ms tasks must count as
 * short (and their depth reach 8 or more on 2 slots) even on a loaded CI machine, where
 * their pace from hand-off to report can pass the default 50 ms. Recall then waits 600 ms.
 */
const SHORT_ENOUGH = ['--prefetch-short-ms', '300'];

/** Runs 10 tasks of 1 ms to their end, so the leader judges the workers' tasks short. */
async function warmUp(api: TestClients): Promise<void> {
  for (let i = 0; i < 10; i++) await api.schedule({ id: `short${i}`, payload: '1' });
  await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_COMPLETED)).length === 10, {
    timeoutMs: 10_000,
    what: 'the short tasks completed',
  });
}

/** The `long…` tasks a worker started, in the order it started them (from its log). */
function longsStartedOn(worker: DroverProcess): string[] {
  return worker
    .linesWith('task started')
    .map((l) => String(l['taskId']))
    .filter((id) => id.startsWith('long'));
}

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
    const { address } = await cluster().startLeader([...SHORT_ENOUGH, ...leaderArgs]);
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

describe('prefetch: priority on the worker', () => {
  const { cluster, clients } = useCluster();

  it('starts a high priority task held ahead before the medium ones held before it', async () => {
    const { address } = await cluster().startLeader(SHORT_ENOUGH);
    const worker = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    await api.scheduleMany(
      Array.from({ length: 8 }, (_, i) => ({ id: `long${i}`, payload: '300' })),
    );
    // Every slot is busy and w holds six: the urgent task goes ahead to w too.
    await api.schedule({ id: 'urgent', payload: '1', priority: TaskPriority.TASK_PRIORITY_HIGH });
    expect((await api.member('w'))?.runningTaskIds).toHaveLength(9);
    await api.whenAllFinished('every task finished', 15_000);
    const started = worker
      .linesWith('task started')
      .map((l) => String(l['taskId']))
      .filter((id) => !id.startsWith('short'));
    expect(started.slice(0, 3).sort()).toEqual(['long0', 'long1', 'urgent']);
    expect(started.slice(3)).toEqual(['long2', 'long3', 'long4', 'long5', 'long6', 'long7']);
  });
});

describe('prefetch: a draining worker hands back what it holds', () => {
  const { cluster, clients } = useCluster();

  it('queues held tasks again at once, unstarted and without spending an attempt', async () => {
    // A generous limit: on a loaded machine 1 ms tasks still count as short.
    const { address } = await cluster().startLeader(['--prefetch', '4', ...SHORT_ENOUGH]);
    const draining = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    // One attempt each: before, a held task handed back on drain had spent it and failed.
    const ids = await api.scheduleMany(
      Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, payload: '600', maxAttempts: 1 })),
    );
    expect((await api.tasks(TaskStatus.TASK_STATUS_RUNNING)).length).toBe(6);
    draining.kill('SIGTERM');
    // The four held ahead are queued again while the two running ones finish on w.
    await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_PENDING)).length === 4, {
      timeoutMs: 5_000,
      what: 'the held tasks queued again',
    });
    expect(draining.linesWith('worker draining')[0]).toMatchObject({ handedBack: 4 });
    const other = await cluster().startWorker(address, 'other', ['--slots', '4']);
    const finished = await api.whenAllFinished('every task finished', 15_000);
    const longs = finished.filter((t) => ids.includes(t.id));
    expect(longs.map((t) => t.status)).toEqual(Array(6).fill(TaskStatus.TASK_STATUS_COMPLETED));
    // Each ran once: two on w, the four it held on `other`, as attempt 2 of their one
    // allowed, after an attempt 1 that never started.
    const ranOnW = longsStartedOn(draining);
    const ranOnOther = longsStartedOn(other);
    expect(ranOnW).toHaveLength(2);
    expect([...ranOnW, ...ranOnOther].sort()).toEqual([...ids].sort());
    const handedBack = await api.task(ranOnOther[0]!);
    expect(handedBack.attempts.map((a) => [a.attempt, a.memberId, a.outcome])).toEqual([
      [1, 'w', 'not started'],
      [2, 'other', 'completed'],
    ]);
    expect(await draining.exited).toMatchObject({ code: 0 });
  });
});

describe('prefetch: an operator drain hands back what the worker holds', () => {
  const { cluster, clients } = useCluster();

  it('recalls the held tasks of a drained member; they run once, elsewhere', async () => {
    const { address } = await cluster().startLeader(['--prefetch', '4', ...SHORT_ENOUGH]);
    const drained = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    const ids = await api.scheduleMany(
      Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, payload: '600', maxAttempts: 1 })),
    );
    expect((await api.member('w'))?.runningTaskIds).toHaveLength(6);
    await new Promise<void>((resolve, reject) =>
      api.leader.drain({ id: 'w' }, (err) => (err ? reject(err) : resolve())),
    );
    await waitFor(async () => (await api.tasks(TaskStatus.TASK_STATUS_PENDING)).length === 4, {
      timeoutMs: 5_000,
      what: 'the held tasks queued again',
    });
    const other = await cluster().startWorker(address, 'other', ['--slots', '4']);
    const finished = await api.whenAllFinished('every task finished', 15_000);
    const longs = finished.filter((t) => ids.includes(t.id));
    expect(longs.map((t) => t.status)).toEqual(Array(6).fill(TaskStatus.TASK_STATUS_COMPLETED));
    expect(longsStartedOn(drained)).toHaveLength(2);
    expect([...longsStartedOn(drained), ...longsStartedOn(other)].sort()).toEqual([...ids].sort());
  });
});

describe('prefetch: recall of held tasks (work stealing)', () => {
  const { cluster, clients } = useCluster();

  it('moves tasks held ahead on a busy worker to one that joins with free slots', async () => {
    const { address, http } = await cluster().startLeader(SHORT_ENOUGH);
    const busy = await cluster().startWorker(address, 'busy', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    // Judged short, `busy` is handed all ten long tasks: two run, eight wait on it. 1.5 s
    // each, so `idle` still finds six or more held if it joins 2 s late on a loaded machine.
    const ids = await api.scheduleMany(
      Array.from({ length: 10 }, (_, i) => ({ id: `long${i}`, payload: '1500', maxAttempts: 1 })),
    );
    expect((await api.member('busy'))?.runningTaskIds).toHaveLength(10);
    const idle = await cluster().startWorker(address, 'idle', ['--slots', '4']);
    const finished = await api.whenAllFinished('every task finished', 20_000);
    const longs = finished.filter((t) => ids.includes(t.id));
    expect(longs.map((t) => t.status)).toEqual(Array(10).fill(TaskStatus.TASK_STATUS_COMPLETED));
    const onIdle = longsStartedOn(idle);
    const onBusy = longsStartedOn(busy);
    // Each ran once; the worker that joined took a share of what `busy` held.
    expect([...onBusy, ...onIdle].sort()).toEqual([...ids].sort());
    expect(onIdle.length).toBeGreaterThanOrEqual(4);
    expect(busy.linesWith('task handed back unstarted').length).toBeGreaterThanOrEqual(4);
    expect(await counter(http, 'drover_task_recalls_total')).toBeGreaterThanOrEqual(4);
    const moved = await api.task(onIdle[0]!);
    expect(moved.attempts.map((a) => [a.memberId, a.outcome])).toEqual([
      ['busy', 'not started'],
      ['idle', 'completed'],
    ]);
  });
});

describe('prefetch: a killed worker is charged only for what it began', () => {
  const { cluster, clients } = useCluster();

  it('runs the tasks it held elsewhere although they allow one attempt; those it began fail', async () => {
    const { address } = await cluster().startLeader(['--prefetch', '4', ...SHORT_ENOUGH]);
    const killed = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    // One attempt each. Two begin on w, four wait there for a slot (long enough that no
    // slot frees before the kill).
    const ids = await api.scheduleMany(
      Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, payload: '60000', maxAttempts: 1 })),
    );
    expect((await api.member('w'))?.runningTaskIds).toHaveLength(6);
    // The leader has heard which two began: the other four say they are held.
    const held = async () => {
      const tasks = await Promise.all(ids.map((id) => api.task(id)));
      return tasks.filter((t) => t.waiting === 'held: member w has not begun it yet');
    };
    await waitFor(async () => (await held()).length === 4, {
      timeoutMs: 5_000,
      what: 'the leader heard two tasks begin',
    });
    const heldIds = (await held()).map((t) => t.id);
    const begun = ids.filter((id) => !heldIds.includes(id));
    expect(begun.sort()).toEqual([...longsStartedOn(killed)].sort());
    killed.kill('SIGKILL');
    const other = await cluster().startWorker(address, 'other', ['--slots', '4']);
    const shortIds = Array.from({ length: 10 }, (_, i) => `short${i}`);
    await waitFor(
      async () => {
        const tasks = await api.tasks();
        const open = tasks.filter(
          (t) => !shortIds.includes(t.id) && t.status !== TaskStatus.TASK_STATUS_ERROR,
        );
        // The held ones run on `other` (60 s each): they are running there, begun.
        return open.length === 4 && open.every((t) => t.memberId === 'other' && t.waiting === '');
      },
      { timeoutMs: 15_000, what: 'the held tasks running on the other worker' },
    );
    expect(longsStartedOn(other).sort()).toEqual(heldIds.sort());
    // The begun ones had their one attempt: they fail once w had the dead timeout to return.
    for (const id of begun) {
      const task = await waitFor(
        async () => {
          const t = await api.task(id);
          return t.status === TaskStatus.TASK_STATUS_ERROR && t;
        },
        { timeoutMs: 10_000, what: `${id} failed after the grace` },
      );
      expect(task.error).toMatch(/^member w was lost .* during attempt 1; no attempts left/);
    }
    const moved = await api.task(heldIds[0]!);
    expect(moved.attempts.map((a) => [a.attempt, a.memberId, a.outcome])).toEqual([
      [1, 'w', 'not started'],
      [2, 'other', ''],
    ]);
  });
});

describe('prefetch: a held task’s timeout counts from its start', () => {
  const { cluster, clients } = useCluster();

  it('does not time out a task while it waits on its worker for a slot', async () => {
    const { address } = await cluster().startLeader(['--prefetch', '4', ...SHORT_ENOUGH]);
    const worker = await cluster().startWorker(address, 'w', ['--slots', '1']);
    const api = clients(address);
    await warmUp(api);
    // One call: both go to w's one slot at once, `held` ahead of it for 1.5 s, with a
    // timeout of 1 s and one attempt. Counted from the hand-off, it would fail unrun.
    await api.scheduleMany([
      { id: 'long0', payload: '1500' },
      { id: 'held', payload: '10', timeoutMs: 1000, maxAttempts: 1 },
    ]);
    expect((await api.member('w'))?.runningTaskIds).toHaveLength(2);
    await api.whenAllFinished('both finished', 15_000);
    const held = await api.task('held');
    expect(held.status).toBe(TaskStatus.TASK_STATUS_COMPLETED);
    expect(held.attempts).toHaveLength(1);
    expect(worker.linesWith('task started').map((l) => l['taskId'])).toContain('held');
  });
});

describe('prefetch: a HIGH task swaps in for a held lower one', () => {
  const { cluster, clients } = useCluster();

  it('starts a HIGH task at the worker’s next free slot though it holds all it may', async () => {
    const { address, http } = await cluster().startLeader(['--prefetch', '8', ...SHORT_ENOUGH]);
    const worker = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    // All w may hold: 2 in its slots, 8 ahead. The HIGH task then waits in the leader's
    // queue, where without the swap it would wait until w held fewer than its slots.
    const ids = await api.scheduleMany(
      Array.from({ length: 10 }, (_, i) => ({ id: `long${i}`, payload: '1000' })),
    );
    expect((await api.member('w'))?.runningTaskIds).toHaveLength(10);
    await api.schedule({ id: 'urgent', payload: '1', priority: TaskPriority.TASK_PRIORITY_HIGH });
    await api.whenAllFinished('every task finished', 20_000);
    const started = worker
      .linesWith('task started')
      .map((l) => String(l['taskId']))
      .filter((id) => !id.startsWith('short'));
    // urgent took one of the two slots freed by long0 and long1, ahead of long2..long8.
    expect(started.slice(0, 2).sort()).toEqual(['long0', 'long1']);
    expect(started.slice(2, 4)).toContain('urgent');
    // The newest held task went back to the queue unstarted and ran once, later.
    expect(worker.linesWith('task handed back unstarted').map((l) => l['taskId'])).toEqual([
      'long9',
    ]);
    expect(started.filter((id) => id === 'long9')).toHaveLength(1);
    expect(started.sort()).toEqual([...ids, 'urgent'].sort());
    expect(await counter(http, 'drover_task_recalls_total')).toBe(1);
  });
});

describe('prefetch: a frozen worker that comes back keeps what it held uncounted', () => {
  const { cluster, clients } = useCluster();

  it('runs every task once though each allows one attempt, with no other worker', async () => {
    const { address, process: leader } = await cluster().startLeader([
      '--prefetch',
      '4',
      ...SHORT_ENOUGH,
      '--heartbeat-interval-ms',
      '200',
      '--suspect-after-ms',
      '400',
      '--dead-after-ms',
      '600',
    ]);
    const frozen = await cluster().startWorker(address, 'w', ['--slots', '2']);
    const api = clients(address);
    await warmUp(api);
    const ids = await api.scheduleMany(
      Array.from({ length: 6 }, (_, i) => ({ id: `long${i}`, payload: '2000', maxAttempts: 1 })),
    );
    await waitFor(
      async () => {
        const tasks = await Promise.all(ids.map((id) => api.task(id)));
        return tasks.filter((t) => t.waiting.startsWith('held:')).length === 4;
      },
      { timeoutMs: 5_000, what: 'two begun, four held' },
    );
    // Frozen past the dead timeout: its tasks are requeued (the four held uncounted). On
    // SIGCONT it re-attaches the two it runs; the four it only held it hands back when told
    // to stop them, instead of reporting four failed attempts (it did before).
    frozen.kill('SIGSTOP');
    await leader.waitForLine((l) => l.msg === 'member dead' && l['memberId'] === 'w', 10_000);
    frozen.kill('SIGCONT');
    const finished = await api.whenAllFinished('every task finished', 30_000);
    const longs = finished.filter((t) => ids.includes(t.id));
    expect(longs.map((t) => [t.id, t.status])).toEqual(
      ids.map((id) => [id, TaskStatus.TASK_STATUS_COMPLETED]),
    );
    expect(longsStartedOn(frozen).sort()).toEqual([...ids].sort());
  });
});
