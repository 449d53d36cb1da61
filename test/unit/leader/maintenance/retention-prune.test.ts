import { describe, expect, it } from 'vitest';
import type { TaskEvent } from '../../../../src/leader/cluster-events.js';
import {
  PRUNE_PER_SWEEP,
  RetentionPrune,
  type Retention,
} from '../../../../src/leader/maintenance/retention-prune.js';
import { nextTurn } from '../../../helpers/manual-timers.js';
import { leaderParts } from '../leader-parts.js';

/** `count` tasks cancelled (finished) 1 ms apart, saved; the prune keeps `retention`. */
async function setup(count: number, retention: Retention) {
  const parts = leaderParts();
  const { scheduler, commits, log } = parts;
  const prune = new RetentionPrune({ scheduler, commits, log, retention });
  const tasks = await parts.enqueue(...Array.from({ length: count }, () => ({})));
  for (const task of tasks) {
    parts.clock.advance(1);
    parts.scheduler.cancel(parts.clock.nowMs(), task.id);
  }
  await parts.commits.save(tasks);
  const deleted: string[] = [];
  parts.events.onTask((e: TaskEvent) => e.kind === 'deleted' && deleted.push(e.id));
  return { ...parts, prune, tasks, deleted, lastFinishedMs: parts.clock.nowMs() };
}

describe('RetentionPrune', () => {
  it(`removes at most PRUNE_PER_SWEEP (${PRUNE_PER_SWEEP}) per sweep`, async () => {
    const { prune, scheduler, store, clock } = await setup(PRUNE_PER_SWEEP + 5, {
      finished: 0,
      ageMs: 60_000,
    });
    prune.run(clock.nowMs());
    await nextTurn();
    expect(scheduler.finishedCount).toBe(5);
    expect(store.writes.at(-1)).toMatchObject({ op: 'remove', state: 'landed' });
    expect(store.writes.at(-1)!.ids).toHaveLength(PRUNE_PER_SWEEP);
    prune.run(clock.nowMs());
    await nextTurn();
    expect(scheduler.finishedCount).toBe(0);
    expect(await store.saved()).toEqual([]);
  });

  it('keeps the newest `finished` tasks, removing the oldest-finished after the store does', async () => {
    const { prune, store, clock, tasks, deleted, scheduler } = await setup(5, {
      finished: 2,
      ageMs: 60_000,
    });
    store.hold();
    prune.run(clock.nowMs());
    await nextTurn();
    expect(deleted).toEqual([]);
    store.release();
    await nextTurn();
    expect(deleted).toEqual(tasks.slice(0, 3).map((t) => t.id));
    expect((await store.saved()).map((t) => t.id)).toEqual(tasks.slice(3).map((t) => t.id));
    const writes = store.count();
    prune.run(clock.nowMs());
    expect(store.count()).toBe(writes);
    expect(scheduler.finishedCount).toBe(2);
  });

  it('keeps a task finished exactly `ageMs` ago, and removes it 1 ms later', async () => {
    const { prune, scheduler, lastFinishedMs } = await setup(1, { finished: 100, ageMs: 1_000 });
    prune.run(lastFinishedMs + 1_000);
    expect(scheduler.finishedCount).toBe(1);
    prune.run(lastFinishedMs + 1_001);
    expect(scheduler.finishedCount).toBe(0);
  });

  it('never removes open tasks, nor a cancelled one its worker has not confirmed stopped', async () => {
    const parts = leaderParts();
    const { scheduler, commits, log } = parts;
    const prune = new RetentionPrune({
      scheduler,
      commits,
      log,
      retention: { finished: 0, ageMs: 0 },
    });
    parts.worker('a');
    const [running, pending, finished] = await parts.enqueue({}, {}, {});
    await parts.timers.settle();
    expect(parts.scheduler.get(running!.id).status).toBe('running');
    await parts.commands.cancel(running!.id); // cancelled, still stopping on a
    await parts.commands.cancel(finished!.id);
    parts.clock.advance(10);
    prune.run(parts.clock.nowMs());
    await nextTurn();
    expect(parts.store.writes.at(-1)!.ids).toEqual([finished!.id]);
    expect(parts.scheduler.get(pending!.id).status).toBe('pending');
    expect(parts.scheduler.get(running!.id).status).toBe('cancelled');
  });

  it('reports a failed removal once, leaving no rejection unhandled', async () => {
    const { prune, store, clock, storeFailures, deleted } = await setup(1, {
      finished: 0,
      ageMs: 0,
    });
    store.failNext({ code: 'ENOSPC' });
    prune.run(clock.nowMs() + 1);
    await nextTurn();
    expect(storeFailures).toEqual([{ code: 'ENOSPC' }]);
    expect(deleted).toEqual([]);
  });
});
