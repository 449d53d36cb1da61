import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { attemptsInSeries } from '../../../src/scheduler/task.js';
import { StaleError } from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/**
 * A scheduler with worker `a` (1 slot, deep prefetch once its attempts are short) and
 * tasks of one attempt each; `b` joins when a test asks.
 */
function setup() {
  const clock = new FakeClock();
  const scheduler = new Scheduler({
    maxPayloadBytes: 64,
    prefetch: { maxTasks: 8, shortAttemptMs: 50 },
    timedStartLeadMs: 100,
  });
  const join = (id: string, slots: number, timed = false) => {
    scheduler.upsertWorker(m(id), slots, new Set(['default']), { timedStarts: timed });
    scheduler.setEligible(m(id), true);
  };
  join('a', 1);
  const schedule = (id: string, extra: object = {}) =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', maxAttempts: 1, ...extra }).task;
  const handBack = (id: string, attempt: number, memberId = 'a') =>
    scheduler.complete(clock.nowMs(), {
      taskId: t(id),
      attempt,
      memberId: m(memberId),
      error: 'not started: its worker is draining',
      notStarted: true,
    });
  /** `a` runs and reports one 1 ms task: it is judged short, so tasks go to it ahead. */
  const warmUp = () => {
    schedule('warm');
    scheduler.assign(clock.nowMs());
    clock.advance(1);
    scheduler.complete(clock.nowMs(), { taskId: t('warm'), attempt: 1, memberId: m('a') });
  };
  return { clock, scheduler, join, schedule, handBack, warmUp };
}

describe('Scheduler: attempts handed back unstarted', () => {
  it('queues them again in their FIFO place, without spending an attempt, for another worker', () => {
    const { clock, scheduler, join, schedule, handBack, warmUp } = setup();
    warmUp();
    for (const id of ['t1', 't2', 't3', 't4']) schedule(id);
    const starts = scheduler.assign(clock.nowMs()).starts;
    expect(starts.map((s) => s.taskId)).toEqual(['t1', 't2', 't3', 't4']);
    // a drains: t1 runs on, the three held ahead come back. Reports arrive in any order.
    scheduler.setEligible(m('a'), false);
    for (const id of ['t3', 't2', 't4']) {
      expect(handBack(id, 1).changed.map((task) => task.id)).toEqual([id]);
    }
    schedule('t5');
    const back = scheduler.get(t('t2'));
    expect(back).toMatchObject({ status: 'pending', attempt: 1, memberId: undefined });
    expect(attemptsInSeries(back)).toBe(0);
    expect(scheduler.runningOn(m('a'))).toEqual(['t1']);
    join('b', 4);
    // Their places are ahead of t5, in the order they were scheduled; each may still run
    // although it allows one attempt only.
    const next = scheduler.assign(clock.nowMs()).starts;
    expect(next.map((s) => [s.taskId, s.memberId, s.attempt])).toEqual([
      ['t2', 'b', 2],
      ['t3', 'b', 2],
      ['t4', 'b', 2],
      ['t5', 'b', 1],
    ]);
    scheduler.complete(clock.nowMs(), { taskId: t('t2'), attempt: 2, memberId: m('b') });
    expect(scheduler.get(t('t2')).status).toBe('completed');
  });

  it('refuses a repeat of the report, a late report of the attempt, and a re-attach of it', () => {
    const { clock, scheduler, schedule, handBack, warmUp } = setup();
    warmUp();
    schedule('t1');
    schedule('t2');
    scheduler.assign(clock.nowMs());
    handBack('t2', 1);
    expect(() => handBack('t2', 1)).toThrow(StaleError);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('t2'), attempt: 1, memberId: m('a') }),
    ).toThrow('belongs to member (none), not a');
    const { changed, stops } = scheduler.reconcile(
      m('a'),
      [{ taskId: t('t2'), attempt: 1 }],
      false,
      clock.nowMs(),
    );
    expect(changed).toEqual([]);
    expect(stops.map((s) => s.taskId)).toEqual(['t2']);
    expect(scheduler.get(t('t2'))).toMatchObject({ status: 'pending', attempt: 1 });
  });

  it('frees the place the attempt held under its concurrency key', () => {
    const { clock, scheduler, schedule, handBack, warmUp } = setup();
    warmUp();
    schedule('k1', { concurrencyKey: 'c' });
    schedule('k2', { concurrencyKey: 'c' });
    scheduler.assign(clock.nowMs());
    expect(scheduler.keyUsage('c')).toEqual({ running: 2, queued: 0 });
    handBack('k2', 1);
    expect(scheduler.keyUsage('c')).toEqual({ running: 1, queued: 1 });
  });

  it('sends a timed start handed back before its run time to wait for it again', () => {
    const { clock, scheduler, join, schedule, handBack } = setup();
    scheduler.removeWorker(m('a'), 'test');
    join('a', 1, true);
    const t0 = clock.nowMs();
    schedule('d1', { runAtMs: t0 + 1_000 });
    clock.advance(900);
    scheduler.promoteDue(clock.nowMs());
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['d1']);
    scheduler.setEligible(m('a'), false);
    handBack('d1', 1);
    expect(scheduler.get(t('d1'))).toMatchObject({ status: 'scheduled', memberId: undefined });
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    // Offered again for its run time, and started with its budget whole.
    join('b', 1, true);
    scheduler.promoteDue(clock.nowMs());
    const [start] = scheduler.assign(clock.nowMs()).starts;
    expect(start).toMatchObject({ taskId: 'd1', memberId: 'b', attempt: 2, startAtMs: t0 + 1_000 });
  });

  it('only frees the slot of a task that was cancelled meanwhile', () => {
    const { clock, scheduler, schedule, handBack, warmUp } = setup();
    warmUp();
    schedule('t1');
    schedule('t2');
    scheduler.assign(clock.nowMs());
    const { stop } = scheduler.cancel(clock.nowMs(), t('t2'));
    expect(stop).toBeDefined();
    expect(handBack('t2', 1).changed).toEqual([]);
    expect(scheduler.get(t('t2')).status).toBe('cancelled');
    expect(scheduler.runningOn(m('a'))).toEqual(['t1']);
  });
});
