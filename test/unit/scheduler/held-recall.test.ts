import { describe, expect, it } from 'vitest';
import { m, prefetchingScheduler, t } from './prefetching-scheduler.js';

const HELD_FOR_MS = 100;

/** Worker `a` (1 slot) judged short, holding t1 (running) and t2..t4 ahead of its slot. */
function setup() {
  const cluster = prefetchingScheduler();
  const { clock, scheduler, schedule, warmUp } = cluster;
  warmUp();
  for (const id of ['t1', 't2', 't3', 't4']) schedule(id);
  expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual([
    't1',
    't2',
    't3',
    't4',
  ]);
  const recall = () =>
    scheduler.rebalanceHeld(clock.nowMs(), HELD_FOR_MS).recalls.map((r) => [r.memberId, r.taskId]);
  return { ...cluster, recall };
}

describe('Scheduler.rebalanceHeld: recall for a free slot', () => {
  it('asks for the newest tasks held too long, as many as another worker has free slots, once', () => {
    const { clock, scheduler, join, recall } = setup();
    expect(recall()).toEqual([]); // nobody has a free slot
    join('b', 2);
    clock.advance(HELD_FOR_MS - 1);
    expect(recall()).toEqual([]); // held as long as prefetch expects: no bouncing
    clock.advance(1);
    const [first] = scheduler.rebalanceHeld(clock.nowMs(), HELD_FOR_MS).recalls;
    expect(first).toMatchObject({
      memberId: 'a',
      taskId: 't4',
      attempt: 1,
      reason: 'held unstarted for 100 ms while b has a free slot',
    });
    // t3 was asked for in the same call, t4 before it; neither again.
    expect(recall()).toEqual([]);
    // a hands both back: b takes them, in their FIFO order.
    for (const id of ['t4', 't3']) {
      scheduler.complete(clock.nowMs(), {
        taskId: t(id),
        attempt: 1,
        memberId: m('a'),
        notStarted: true,
      });
    }
    const starts = scheduler.assign(clock.nowMs()).starts;
    expect(starts.map((s) => [s.taskId, s.memberId])).toEqual([
      ['t3', 'b'],
      ['t4', 'b'],
    ]);
    expect(scheduler.rebalanceHeld(clock.nowMs(), HELD_FOR_MS).recalls).toEqual([]); // b is full now
  });

  it('asks for a task again after its next hand-off, and never one only its worker may run', () => {
    const { clock, join, recall, scheduler } = setup();
    join('b', 1, ['other']); // a free slot, but not for these tasks
    clock.advance(HELD_FOR_MS);
    expect(recall()).toEqual([]);
    scheduler.setEligible(m('b'), false);
    join('c', 4);
    clock.advance(1);
    expect(recall()).toEqual([
      ['a', 't4'],
      ['a', 't3'],
      ['a', 't2'],
    ]);
  });

  it('leaves tasks pinned to their worker', () => {
    const { clock, scheduler, join, schedule, recall } = setup();
    schedule('pinned', { targetMemberId: 'a' });
    scheduler.assign(clock.nowMs());
    expect(scheduler.get(t('pinned')).memberId).toBe('a');
    join('b', 1);
    clock.advance(HELD_FOR_MS);
    expect(recall()).toEqual([['a', 't4']]);
    join('c', 8);
    expect(recall()).toEqual([
      ['a', 't3'],
      ['a', 't2'],
    ]);
  });

  it('leaves a task its worker said it began (its worker would run it on)', () => {
    const { clock, scheduler, join, recall } = setup();
    // a's slot was busy by the leader's count, but a says it began t4 (t1 ended unreported).
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('t4'), attempt: 1 }]);
    join('b', 1);
    clock.advance(HELD_FOR_MS);
    expect(recall()).toEqual([['a', 't3']]);
  });

  it('moves a held task that outranks the others to a free slot at once, before them', () => {
    const { clock, scheduler, join, schedule, recall } = setup();
    schedule('urgent', { priority: 'high' });
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => [s.taskId, s.memberId])).toEqual([
      ['urgent', 'a'],
    ]);
    join('b', 1);
    // Held for no time at all, but a free slot now beats a's next one.
    expect(recall()).toEqual([['a', 'urgent']]);
    clock.advance(HELD_FOR_MS);
    expect(recall()).toEqual([]); // b's one slot waits for urgent
  });
});
