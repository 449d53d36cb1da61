import { describe, expect, it } from 'vitest';
import { asMemberId } from '../../../../src/shared/ids.js';
import { leaderParts } from '../leader-parts.js';

const a = asMemberId('a');
const BACKOFF = 1_000;

/** Worker a (2 slots) ran `count` tasks; each failed 10 ms after the one before. */
async function failedTasks(count = 1) {
  const parts = leaderParts({ policy: { retryBackoffMs: BACKOFF } });
  const w = parts.worker('a', { slots: count });
  const tasks = await parts.enqueue(...Array.from({ length: count }, () => ({})));
  await parts.timers.settle();
  const failedAt: number[] = [];
  for (const task of tasks) {
    failedAt.push(parts.clock.nowMs());
    await parts.commands.complete({ taskId: task.id, attempt: 1, memberId: a, error: 'boom' });
    parts.clock.advance(10);
  }
  await parts.timers.settle();
  return { ...parts, w, tasks, retryAt: failedAt.map((t) => t + BACKOFF) };
}

describe('DuePromotion: retries', () => {
  it('sets its one timer for the first retry when an attempt fails', async () => {
    const { timers, retryAt, clock } = await failedTasks(3);
    // One timer, for the earliest: the later retries do not add timers.
    expect(timers.timerDelays).toEqual([retryAt[0]! - (clock.nowMs() - 30)]);
  });

  it('leaves a retry waiting 1 ms before its backoff is over', async () => {
    const { due, store, scheduler, tasks, retryAt } = await failedTasks();
    const writes = store.count();
    due.run(retryAt[0]! - 1);
    expect(store.count()).toBe(writes);
    expect(scheduler.get(tasks[0]!.id)).toMatchObject({ status: 'pending', retryAtMs: retryAt[0] });
    expect(scheduler.delayedCount).toBe(1);
  });

  it('queues it exactly when due and starts attempt 2 in the same write', async () => {
    const { due, store, timers, scheduler, tasks, retryAt, w, stored } = await failedTasks();
    const id = tasks[0]!.id;
    store.hold();
    const writes = store.count();
    due.run(retryAt[0]!);
    expect(scheduler.delayedCount).toBe(0);
    // One write holds the promotion and the start .
    expect([...store.writes.at(-1)!.ids]).toEqual([id]);
    expect(store.writes.at(-1)!.records.at(-1)).toMatchObject({
      status: 'running',
      attempt: 2,
      retryAtMs: undefined,
    });
    await timers.settle();
    expect(w.channel.starts).toHaveLength(1); // attempt 1 only: nothing before the write lands
    store.release();
    await timers.settle();
    expect(store.count()).toBe(writes + 1);
    expect(w.channel.starts.at(-1)).toMatchObject({ taskId: id, attempt: 2 });
    expect(await stored(id)).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('queues only the retries that are due, all of them in one write', async () => {
    const { due, store, scheduler, tasks, retryAt } = await failedTasks(3);
    const writes = store.count();
    due.run(retryAt[1]!);
    expect(store.writes.slice(writes).map((w) => [...w.ids].sort())).toEqual([
      [tasks[0]!.id, tasks[1]!.id],
    ]);
    expect(scheduler.get(tasks[2]!.id).retryAtMs).toBe(retryAt[2]);
    expect(scheduler.delayedCount).toBe(1);
  });
});

describe('DuePromotion: delayed tasks', () => {
  it('sets the timer when a delayed task is scheduled, and starts it in one write when it fires', async () => {
    const { commands, timers, clock, store, stored, worker } = leaderParts();
    const w = worker('a', { slots: 1 });
    await timers.settle();
    const {
      tasks: [task],
    } = await commands.schedule([{ payload: 'p', delayMs: 5_000 }]);
    expect(task).toMatchObject({ status: 'scheduled', runAtMs: clock.nowMs() + 5_000 });
    expect(await stored(task!.id)).toMatchObject({ status: 'scheduled' });
    expect(timers.timerDelays).toEqual([5_000]);
    await timers.settle();
    expect(w.channel.starts).toEqual([]);

    clock.advance(5_000);
    store.hold();
    const writes = store.count();
    expect(timers.fireTimers()).toBe(1);
    expect([...store.writes.at(-1)!.ids]).toEqual([task!.id]);
    expect(store.writes.at(-1)!.records.at(-1)).toMatchObject({ status: 'running', attempt: 1 });
    await timers.settle();
    expect(w.channel.starts).toEqual([]); // saved before any worker is told
    store.release();
    await timers.settle();
    expect(store.count()).toBe(writes + 1);
    expect(w.channel.starts).toEqual([expect.objectContaining({ taskId: task!.id, attempt: 1 })]);
    expect(timers.timerDelays).toEqual([]); // nothing else waits: no timer
  });

  it('moves the timer earlier for an earlier task, and keeps it for a later one', async () => {
    const { commands, timers, clock } = leaderParts();
    await commands.schedule([{ payload: 'p', delayMs: 10_000 }]);
    expect(timers.timerDelays).toEqual([10_000]);
    await commands.schedule([{ payload: 'p', delayMs: 20_000 }]);
    expect(timers.timerDelays).toEqual([10_000]);
    clock.advance(1_000);
    await commands.schedule([{ payload: 'p', delayMs: 2_000 }]);
    expect(timers.timerDelays).toEqual([2_000]); // the 10 s one was cancelled
  });

  it('fired a little early (timer rounding), promotes nothing and sets the timer again', async () => {
    const { commands, timers, clock, scheduler } = leaderParts();
    await commands.schedule([{ payload: 'p', delayMs: 100 }]);
    clock.advance(99);
    timers.fireTimers();
    expect(scheduler.scheduledCount).toBe(1);
    expect(timers.timerDelays).toEqual([1]);
    clock.advance(1);
    timers.fireTimers();
    expect(scheduler.scheduledCount).toBe(0);
    expect(scheduler.pendingCount).toBe(1);
  });

  it('the sweep promotes what is overdue even without its timer (after a restart)', async () => {
    const { commands, timers, clock, scheduler, due } = leaderParts();
    await commands.schedule([{ payload: 'p', delayMs: 100 }]);
    clock.advance(60_000);
    due.run(clock.nowMs());
    expect(scheduler.pendingCount).toBe(1);
    expect(timers.timerDelays).toEqual([]);
  });

  it('sets no timer once stopped', async () => {
    const { commands, timers, due } = leaderParts();
    await commands.schedule([{ payload: 'p', delayMs: 100 }]);
    due.stop();
    expect(timers.timerDelays).toEqual([]);
    await commands.schedule([{ payload: 'p', delayMs: 50 }]);
    expect(timers.timerDelays).toEqual([]);
  });
});
