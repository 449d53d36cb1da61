import { describe, expect, it } from 'vitest';
import { RetriesDue } from '../../../../src/leader/maintenance/retries-due.js';
import { asMemberId } from '../../../../src/shared/ids.js';
import { leaderParts } from '../leader-parts.js';

const a = asMemberId('a');
const BACKOFF = 1_000;

/** Worker a (2 slots) ran `count` tasks; each failed 10 ms after the one before. */
async function setup(count = 1) {
  const parts = leaderParts({ policy: { retryBackoffMs: BACKOFF } });
  const { scheduler, commits, assignment } = parts;
  const job = new RetriesDue({ scheduler, commits, assignment });
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
  return { ...parts, job, w, tasks, retryAt: failedAt.map((t) => t + BACKOFF) };
}

describe('RetriesDue', () => {
  it('leaves a retry waiting 1 ms before its backoff is over', async () => {
    const { job, store, scheduler, tasks, retryAt } = await setup();
    const writes = store.count();
    job.run(retryAt[0]! - 1);
    expect(store.count()).toBe(writes);
    expect(scheduler.get(tasks[0]!.id)).toMatchObject({ status: 'pending', retryAtMs: retryAt[0] });
    expect(scheduler.delayedCount).toBe(1);
  });

  it('asks for no assignment round when no retry is due', async () => {
    const { job, timers, retryAt } = await setup();
    job.run(retryAt[0]! - 1);
    expect(timers.pending).toBe(0);
  });

  it('queues it exactly when due, saved before the round that starts attempt 2', async () => {
    const { job, store, timers, scheduler, tasks, retryAt, w, stored } = await setup();
    const id = tasks[0]!.id;
    store.hold();
    const writes = store.count();
    job.run(retryAt[0]!);
    expect(scheduler.delayedCount).toBe(0);
    expect(store.writes.at(-1)!.records).toEqual([
      expect.objectContaining({ id, status: 'pending', retryAtMs: undefined }),
    ]);
    await timers.settle();
    expect(store.count()).toBe(writes + 1); // no round before the promotion is saved
    expect(w.channel.starts).toHaveLength(1);
    store.release();
    await timers.settle();
    expect(w.channel.starts.at(-1)).toMatchObject({ taskId: id, attempt: 2 });
    expect(await stored(id)).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('queues only the retries that are due, all of them in one write', async () => {
    const { job, store, scheduler, tasks, retryAt } = await setup(3);
    const writes = store.count();
    job.run(retryAt[1]!);
    expect(store.writes.slice(writes).map((w) => [...w.ids].sort())).toEqual([
      [tasks[0]!.id, tasks[1]!.id],
    ]);
    expect(scheduler.get(tasks[2]!.id).retryAtMs).toBe(retryAt[2]);
    expect(scheduler.delayedCount).toBe(1);
  });
});
