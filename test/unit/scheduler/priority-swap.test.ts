import { describe, expect, it } from 'vitest';
import { m, prefetchingScheduler, t } from './prefetching-scheduler.js';

const HELD_FOR_MS = 100;

/**
 * Worker `a` (1 slot, sends began notices) judged short, then handed t1..t4 at once (three
 * ahead of its slot); t1 takes 5 s, so a is judged long and gets nothing more ahead, and
 * it begins t2: it holds t3 and t4 unbegun.
 */
function setup(notices = true, heldPriority = 'medium') {
  const cluster = prefetchingScheduler({ beganNotices: notices });
  const { clock, scheduler, schedule, warmUp, began } = cluster;
  warmUp();
  for (const id of ['t1', 't2', 't3', 't4']) schedule(id, { priority: heldPriority });
  expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual([
    't1',
    't2',
    't3',
    't4',
  ]);
  clock.advance(5000);
  scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') });
  began('a', 't2');
  const rebalance = () => scheduler.rebalanceHeld(clock.nowMs(), HELD_FOR_MS);
  return { ...cluster, rebalance };
}

describe('Scheduler.rebalanceHeld: a queued task of higher priority swaps in', () => {
  it('hands a HIGH task ahead to the worker and recalls its newest held lower task', () => {
    const { clock, scheduler, schedule, rebalance } = setup();
    // a's pace says long: it gets nothing more ahead, so HIGH waits in the queue.
    schedule('more');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    schedule('urgent', { priority: 'high' });
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    const { starts, recalls, changed } = rebalance();
    expect(starts.map((s) => [s.taskId, s.memberId, s.priority])).toEqual([
      ['urgent', 'a', 'high'],
    ]);
    expect(changed.map((task) => task.id)).toEqual(['urgent']);
    // t4 was handed last (it would start last); t3 stays, and t2 runs.
    expect(recalls.map((r) => [r.taskId, r.reason])).toEqual([
      ['t4', 'a high priority task (urgent) takes its place'],
    ]);
    // Nothing more to swap: the next queued task is medium, like what a holds.
    expect(rebalance().recalls).toEqual([]);
    // a hands t4 back: it queues again in its FIFO place, ahead of `more`.
    scheduler.complete(clock.nowMs(), {
      taskId: t('t4'),
      attempt: 1,
      memberId: m('a'),
      notStarted: true,
    });
    expect(scheduler.get(t('t4')).status).toBe('pending');
    expect(scheduler.get(t('urgent'))).toMatchObject({ status: 'running', memberId: 'a' });
  });

  it('swaps a medium task for a held low one, and never a lower or equal for a held one', () => {
    const mediums = setup();
    mediums.schedule('low-one', { priority: 'low' });
    mediums.schedule('medium-one');
    expect(mediums.rebalance().recalls).toEqual([]); // behind held mediums: they wait their turn
    const lows = setup(true, 'low');
    lows.schedule('medium-one');
    const { starts, recalls } = lows.rebalance();
    expect(starts.map((s) => [s.taskId, s.priority])).toEqual([['medium-one', 'medium']]);
    expect(recalls.map((r) => r.taskId)).toEqual(['t4']);
  });

  it('recalls each held task once and leaves one the worker said it began', () => {
    const { clock, scheduler, schedule, rebalance } = setup();
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('t4'), attempt: 1 }]);
    schedule('u1', { priority: 'high' });
    schedule('u2', { priority: 'high' });
    schedule('u3', { priority: 'high' });
    const { starts, recalls } = rebalance();
    expect(starts.map((s) => s.taskId)).toEqual(['u1']);
    expect(recalls.map((r) => r.taskId)).toEqual(['t3']);
    // Asked for already: no second swap for them while their hand-back is on its way.
    expect(rebalance().starts).toEqual([]);
    expect(scheduler.get(t('u2')).status).toBe('pending');
  });

  it('does nothing while a slot is free, or for a worker that sends no began notices', () => {
    const { clock, scheduler, join, schedule, rebalance } = setup();
    join('b', 1);
    scheduler.setEligible(m('b'), false);
    schedule('u1', { priority: 'high', targetMemberId: 'b' });
    // Pinned to b, which takes no work now: a cannot take it.
    expect(rebalance().starts).toEqual([]);
    scheduler.setEligible(m('b'), true);
    const round = scheduler.assign(clock.nowMs());
    expect(round.starts.map((s) => [s.taskId, s.memberId])).toEqual([['u1', 'b']]);

    const quiet = setup(false);
    quiet.schedule('u1', { priority: 'high' });
    expect(quiet.rebalance().starts).toEqual([]);
  });
});
