import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { attemptsInSeries } from '../../../src/scheduler/task.js';
import { MAX_UNCOUNTED_LOSSES } from '../../../src/scheduler/unbegun-loss.js';
import { StaleError } from '../../../src/shared/errors.js';
import { m, prefetchingScheduler, t } from './prefetching-scheduler.js';

/**
 * A scheduler whose worker `a` (1 slot, deep prefetch once its attempts are short) holds
 * tasks ahead; tasks get one attempt each unless a test says otherwise.
 */
function setup(notices = true) {
  const cluster = prefetchingScheduler({ beganNotices: notices }, { maxAttempts: 1 });
  const { clock, scheduler } = cluster;
  const lose = (memberId: string) =>
    scheduler.removeWorker(m(memberId), 'was lost (killed)', undefined, clock.nowMs());
  /** `a` is handed `id` and lost before it begins it, then joins again (a new stream). */
  const lostThenBack = (id: string, extra: object = {}) => {
    cluster.warmUp();
    cluster.schedule(id, extra);
    scheduler.assign(clock.nowMs());
    lose('a');
    cluster.join('a', 1);
  };
  return { ...cluster, lose, lostThenBack };
}

describe('Scheduler: a lost worker is charged an attempt only for what it said it began', () => {
  it('requeues held tasks it never began without spending their attempt, and fails the begun one', () => {
    const { clock, scheduler, join, schedule, began, lose, warmUp } = setup();
    warmUp();
    for (const id of ['t1', 't2', 't3']) schedule(id);
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['t1', 't2', 't3']);
    began('a', 't1');
    lose('a');
    expect(scheduler.get(t('t2'))).toMatchObject({
      status: 'pending',
      attempt: 1,
      error: 'member a was lost (killed) before it began attempt 1 (not counted)',
    });
    expect(attemptsInSeries(scheduler.get(t('t2')))).toBe(0);
    expect(scheduler.get(t('t1')).error).toBe('member a was lost (killed) during attempt 1');
    join('b', 4);
    const next = scheduler.assign(clock.nowMs());
    // t1 began on a and had its one attempt: it fails; t2 and t3 run, in their order.
    expect(next.starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['t2', 2],
      ['t3', 2],
    ]);
    // Lost on its one attempt, it waited out the grace (0 here) for a: it fails when due.
    scheduler.promoteDue(clock.nowMs());
    expect(scheduler.get(t('t1')).status).toBe('error');
  });

  it('counts every loss, as before, for a worker that sends no began notices', () => {
    const { clock, scheduler, join, schedule, lose, warmUp } = setup(false);
    warmUp();
    for (const id of ['t1', 't2']) schedule(id);
    scheduler.assign(clock.nowMs());
    lose('a');
    join('b', 4);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    scheduler.promoteDue(clock.nowMs());
    expect(scheduler.get(t('t1')).status).toBe('error');
    expect(scheduler.get(t('t2')).status).toBe('error');
  });

  it('ignores a notice for an attempt that is no longer the member’s', () => {
    const { clock, scheduler, join, schedule, began, lose, warmUp } = setup();
    warmUp();
    schedule('t1');
    scheduler.assign(clock.nowMs());
    join('b', 1);
    // A notice from b for a's attempt changes nothing: losing a does not charge t1.
    scheduler.noteBegan(clock.nowMs(), m('b'), [{ taskId: t('t1'), attempt: 1 }]);
    lose('a');
    expect(attemptsInSeries(scheduler.get(t('t1')))).toBe(0);
    // A notice of an attempt the task has left behind is ignored too.
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['t1', 2],
    ]);
    began('a', 't1');
    lose('b');
    expect(attemptsInSeries(scheduler.get(t('t1')))).toBe(0);
  });

  it(`stops forgiving after ${MAX_UNCOUNTED_LOSSES} losses of one task, so a worker-killing task runs out`, () => {
    const { clock, scheduler, join, schedule, lose } = setup();
    schedule('poison', { maxAttempts: 1 });
    const workers = ['a', 'b', 'c', 'd'];
    for (const [i, id] of workers.entries()) {
      if (i > 0) join(id, 1);
      const starts = scheduler.assign(clock.nowMs()).starts;
      if (i <= MAX_UNCOUNTED_LOSSES) {
        expect(starts.map((s) => [s.taskId, s.memberId])).toEqual([['poison', id]]);
        lose(id);
      } else expect(starts).toEqual([]);
    }
    scheduler.promoteDue(clock.nowMs());
    const task = scheduler.get(t('poison'));
    expect(task.status).toBe('error');
    expect(task.attempt).toBe(MAX_UNCOUNTED_LOSSES + 1);
  });

  it('counts the attempt again when its worker re-attaches it, and charges it if lost after', () => {
    const { clock, scheduler, join, schedule, lose, warmUp } = setup();
    warmUp();
    schedule('t1');
    scheduler.assign(clock.nowMs());
    lose('a');
    expect(attemptsInSeries(scheduler.get(t('t1')))).toBe(0);
    // a comes back on a new stream and lists it: its own again, with its attempt counted.
    join('a', 1);
    const { changed } = scheduler.reconcile(m('a'), [{ taskId: t('t1'), attempt: 1 }], true);
    expect(changed.map((task) => task.id)).toEqual(['t1']);
    expect(scheduler.get(t('t1'))).toMatchObject({ status: 'running', memberId: 'a' });
    expect(attemptsInSeries(scheduler.get(t('t1')))).toBe(1);
    // Now it says it began, and is lost again: the task had its one attempt.
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('t1'), attempt: 1 }]);
    lose('a');
    join('b', 1);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    scheduler.promoteDue(clock.nowMs());
    expect(scheduler.get(t('t1')).status).toBe('error');
  });

  it('takes a late report of the attempt as proof it ran: a failure then uses the attempt', () => {
    const { clock, scheduler, lostThenBack } = setup();
    lostThenBack('t1', { maxAttempts: 2 });
    scheduler.complete(clock.nowMs(), {
      taskId: t('t1'),
      attempt: 1,
      memberId: m('a'),
      error: 'boom',
    });
    const task = scheduler.get(t('t1'));
    expect(task).toMatchObject({ status: 'pending', attemptEnded: true });
    expect(attemptsInSeries(task)).toBe(1);
  });

  it('leaves a hand-back of the requeued attempt out of the budget once, not twice', () => {
    const { clock, scheduler, lostThenBack } = setup();
    lostThenBack('t1');
    scheduler.complete(clock.nowMs(), {
      taskId: t('t1'),
      attempt: 1,
      memberId: m('a'),
      error: 'not started: its worker is draining',
      notStarted: true,
    });
    expect(attemptsInSeries(scheduler.get(t('t1')))).toBe(0);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') }),
    ).toThrow(StaleError);
  });

  it('counts a held task’s timeout from when its worker says it began it, not the hand-off', () => {
    const { clock, scheduler, schedule, began, warmUp } = setup();
    warmUp();
    schedule('first', { timeoutMs: 1000 });
    schedule('held', { timeoutMs: 1000 });
    scheduler.assign(clock.nowMs());
    began('a', 'first');
    clock.advance(1000);
    // `first` ran out of time; `held` waited for a's slot all along: it is put off.
    const expired = scheduler.expire(clock.nowMs());
    expect(expired.stops.map((s) => s.taskId)).toEqual(['first']);
    expect(scheduler.get(t('held')).status).toBe('running');
    clock.advance(500);
    began('a', 'held'); // its timeout counts from here: 1,500 ms after the hand-off
    clock.advance(999);
    expect(scheduler.expire(clock.nowMs()).stops).toEqual([]);
    clock.advance(1);
    expect(scheduler.expire(clock.nowMs()).stops.map((s) => s.taskId)).toEqual(['held']);
  });

  it('times out from the hand-off for a worker that sends no notices, and after a restart', () => {
    const { clock, scheduler, schedule, warmUp } = setup(false);
    warmUp();
    schedule('first', { timeoutMs: 1000 });
    schedule('held', { timeoutMs: 1000 });
    scheduler.assign(clock.nowMs());
    clock.advance(1000);
    expect(scheduler.expire(clock.nowMs()).stops.map((s) => s.taskId)).toEqual(['first', 'held']);

    const { scheduler: noticing, schedule: again, warmUp: warm } = setup();
    warm();
    again('t1', { timeoutMs: 1000 });
    noticing.assign(clock.nowMs());
    // A leader restarted from the store takes running tasks as begun (it cannot know).
    const restarted = new Scheduler({ maxPayloadBytes: 64 });
    restarted.restore(noticing.all().map((task) => ({ ...task, begunAttempt: undefined })));
    restarted.upsertWorker(m('a'), 1, new Set(['default']), { beganNotices: true });
    expect(restarted.get(t('t1')).begunAttempt).toBe(1);
    clock.advance(1000);
    expect(restarted.expire(clock.nowMs()).stops.map((s) => s.taskId)).toEqual(['t1']);
  });

  it('keeps what a returning worker began when its slots run short, and stops what it held', () => {
    const { clock, scheduler, schedule, began, lose, join, warmUp } = setup();
    warmUp();
    schedule('held');
    schedule('begun');
    scheduler.assign(clock.nowMs());
    began('a', 'begun'); // a began the second (its first slot's task had just ended)
    lose('a');
    join('a', 1);
    // Listed in the order it got them: the one it runs is re-attached, not the one it holds.
    const { changed, stops } = scheduler.reconcile(
      m('a'),
      [
        { taskId: t('held'), attempt: 1 },
        { taskId: t('begun'), attempt: 1 },
      ],
      true,
      clock.nowMs(),
    );
    expect(changed.map((task) => task.id)).toEqual(['begun']);
    expect(stops.map((s) => s.taskId)).toEqual(['held']);
    expect(attemptsInSeries(scheduler.get(t('held')))).toBe(0);
  });
});
