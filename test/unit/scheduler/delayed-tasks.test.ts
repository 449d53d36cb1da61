import { describe, expect, it } from 'vitest';
import { MAX_DELAY_MS } from '../../../src/scheduler/new-task.js';
import { Scheduler, type NewTask } from '../../../src/scheduler/scheduler.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;

function setup(slots = 0) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 64 });
  if (slots > 0) {
    scheduler.upsertWorker(m('w'), slots, new Set(['default']));
    scheduler.setEligible(m('w'), true);
  }
  const schedule = (id: string, extra: Partial<NewTask> = {}) =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', ...extra }).task;
  /** Ids of what a free worker would start now, in order. */
  const started = () => scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId as string);
  return { clock, scheduler, schedule, started };
}

describe('delayed tasks: scheduled until due', () => {
  it('waits as scheduled, not offered to a free slot, until exactly its run time', () => {
    const { clock, scheduler, schedule, started } = setup(4);
    const due = clock.nowMs() + 5_000;
    const task = schedule('later', { runAtMs: due });
    expect(task).toMatchObject({ status: 'scheduled', runAtMs: due, attempt: 0 });
    expect(scheduler.scheduledCount).toBe(1);
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.nextDueAtMs()).toBe(due);
    expect(started()).toEqual([]);

    clock.advance(4_999);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    expect(started()).toEqual([]);

    clock.advance(1);
    const { changed } = scheduler.promoteDue(clock.nowMs());
    expect(changed).toEqual([expect.objectContaining({ id: 'later', status: 'pending' })]);
    expect(scheduler.scheduledCount).toBe(0);
    expect(scheduler.nextDueAtMs()).toBeUndefined();
    expect(started()).toEqual(['later']);
    // The run time stays on the record: when it was due, for listings and audits.
    expect(scheduler.get('later' as TaskId)).toMatchObject({ status: 'running', runAtMs: due });
  });

  it('turns delay_ms into a run time on the scheduler clock', () => {
    const { clock, schedule } = setup();
    expect(schedule('d', { delayMs: 250 })).toMatchObject({
      status: 'scheduled',
      runAtMs: clock.nowMs() + 250,
    });
  });

  it('queues at once a task whose run time is now or past, keeping the time asked for', () => {
    const { clock, scheduler, schedule, started } = setup(4);
    const now = clock.nowMs();
    expect(schedule('now', { runAtMs: now })).toMatchObject({ status: 'pending', runAtMs: now });
    expect(schedule('past', { runAtMs: now - 60_000 })).toMatchObject({ status: 'pending' });
    expect(schedule('zero', { delayMs: 0 })).toMatchObject({ status: 'pending' });
    // Before 1970 is a time too (a negative epoch): past, so queued at once.
    expect(schedule('old', { runAtMs: -62135596800000 })).toMatchObject({ status: 'pending' });
    expect(scheduler.scheduledCount).toBe(0);
    expect(started()).toEqual(['now', 'past', 'zero', 'old']);
  });

  it('joins its priority FIFO by due time (ties in creation order), behind what was queued before', () => {
    const { clock, scheduler, schedule, started } = setup();
    const t0 = clock.nowMs();
    schedule('a-300', { runAtMs: t0 + 300 });
    schedule('b-100', { runAtMs: t0 + 100 });
    schedule('c-100', { runAtMs: t0 + 100 });
    schedule('queued-now');
    schedule('high-200', { runAtMs: t0 + 200, priority: 'high' });
    clock.advance(300);
    // One promotion for all of them, as after a pause of the leader: the order is still
    // by due time, not by the order they were scheduled in.
    expect(scheduler.promoteDue(clock.nowMs()).changed.map((task) => task.id)).toEqual([
      'b-100',
      'c-100',
      'high-200',
      'a-300',
    ]);
    scheduler.upsertWorker(m('w'), 10, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    expect(started()).toEqual(['high-200', 'queued-now', 'b-100', 'c-100', 'a-300']);
  });

  it('promotes only what is due, and a task queued meanwhile stays ahead of later ones', () => {
    const { clock, scheduler, schedule, started } = setup();
    const t0 = clock.nowMs();
    schedule('x-100', { runAtMs: t0 + 100 });
    schedule('y-200', { runAtMs: t0 + 200 });
    clock.advance(100);
    expect(scheduler.promoteDue(clock.nowMs()).changed.map((task) => task.id)).toEqual(['x-100']);
    expect(scheduler.nextDueAtMs()).toBe(t0 + 200);
    schedule('queued-at-150');
    clock.advance(100);
    scheduler.promoteDue(clock.nowMs());
    scheduler.upsertWorker(m('w'), 10, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    expect(started()).toEqual(['x-100', 'queued-at-150', 'y-200']);
  });

  it('cancels a scheduled task at once; it never falls due', () => {
    const { clock, scheduler, schedule, started } = setup(1);
    schedule('gone', { delayMs: 100 });
    const { task, changed, stop } = scheduler.cancel(clock.nowMs(), 'gone' as TaskId);
    expect(task.status).toBe('cancelled');
    expect(changed).toEqual([task]);
    expect(stop).toBeUndefined();
    expect(scheduler.nextDueAtMs()).toBeUndefined();
    clock.advance(100);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    expect(started()).toEqual([]);
  });

  it('lists scheduled tasks by status', () => {
    const { scheduler, schedule } = setup();
    schedule('s1', { delayMs: 10 });
    schedule('p1');
    schedule('s2', { delayMs: 5 });
    expect(scheduler.list({ status: 'scheduled', pageSize: 10 }).tasks.map((t) => t.id)).toEqual([
      's1',
      's2',
    ]);
    expect(scheduler.list({ status: 'pending', pageSize: 10 }).tasks.map((t) => t.id)).toEqual([
      'p1',
    ]);
  });

  it('refuses a completion report for a task that has not started', () => {
    const { clock, scheduler, schedule } = setup(1);
    schedule('s', { delayMs: 10 });
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: 's' as TaskId, attempt: 1, memberId: m('w') }),
    ).toThrow(/not started/);
    expect(scheduler.get('s' as TaskId).status).toBe('scheduled');
  });

  it('keeps the earliest of retry waits and run times as the next due time', () => {
    const clock = new FakeClock();
    const scheduler = new Scheduler({
      maxPayloadBytes: 64,
      policy: { maxAttempts: 3, retryBackoffMs: 1_000, retryBackoffMaxMs: 60_000, timeoutMs: 0 },
    });
    scheduler.upsertWorker(m('w'), 1, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    const t0 = clock.nowMs();
    scheduler.schedule(t0, { id: 'later', payload: 'p', runAtMs: t0 + 5_000 });
    scheduler.schedule(t0, { id: 'fails', payload: 'p' });
    scheduler.assign(t0);
    scheduler.complete(t0, { taskId: 'fails' as TaskId, attempt: 1, memberId: m('w'), error: 'x' });
    expect(scheduler.nextDueAtMs()).toBe(t0 + 1_000);
    scheduler.promoteDue(t0 + 1_000);
    expect(scheduler.nextDueAtMs()).toBe(t0 + 5_000);
  });
});

describe('delayed tasks: checks', () => {
  it('refuses run_at and delay_ms together, and either beyond 366 days, changing nothing', () => {
    const { clock, scheduler, schedule } = setup();
    const now = clock.nowMs();
    expect(() => schedule('both', { runAtMs: now + 1, delayMs: 1 })).toThrow(
      new InvalidArgumentError('set run_at or delay_ms, not both'),
    );
    expect(() => schedule('far', { delayMs: MAX_DELAY_MS + 1 })).toThrow(/delay_ms must be/);
    expect(() => schedule('far2', { runAtMs: now + MAX_DELAY_MS + 1 })).toThrow(
      /more than 366 days ahead/,
    );
    expect(() => schedule('nan', { runAtMs: Number.NaN })).toThrow(/run_at is not a valid time/);
    // The earliest a Timestamp holds is taken (past: due at once); a millisecond before is not.
    expect(() => schedule('ancient', { runAtMs: -62_135_596_800_001 })).toThrow(
      /run_at is before 0001-01-01T00:00:00Z/,
    );
    expect(() => schedule('neg', { delayMs: -1 })).toThrow(/delay_ms must be/);
    expect(schedule('edge', { delayMs: MAX_DELAY_MS }).status).toBe('scheduled');
    expect(schedule('year-1', { runAtMs: -62_135_596_800_000 }).status).toBe('pending');
    expect(scheduler.list({ pageSize: 10 }).tasks.map((t) => t.id)).toEqual(['edge', 'year-1']);
  });

  it('takes a batch of delayed and immediate tasks whole, or none of it', () => {
    const { clock, scheduler } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'ok', payload: 'p', delayMs: 10 },
        { id: 'bad', payload: 'p', delayMs: -5 },
      ]),
    ).toThrow(/^tasks\[1\]: delay_ms/);
    expect(scheduler.scheduledCount).toBe(0);
    const { tasks } = scheduler.scheduleMany(clock.nowMs(), [
      { id: 'd', payload: 'p', delayMs: 10 },
      { id: 'n', payload: 'p' },
    ]);
    expect(tasks.map((task) => task.status)).toEqual(['scheduled', 'pending']);
  });
});

describe('delayed tasks: restart', () => {
  it('restores scheduled tasks as scheduled; overdue ones are due at once', () => {
    const { clock, scheduler, schedule } = setup();
    const t0 = clock.nowMs();
    schedule('s1', { runAtMs: t0 + 100 });
    schedule('s2', { runAtMs: t0 + 10_000 });
    const records = scheduler.list({ pageSize: 10 }).tasks.map((task) => ({ ...task }));
    const restored = new Scheduler({ maxPayloadBytes: 64 });
    restored.restore(records);
    expect(restored.scheduledCount).toBe(2);
    expect(restored.nextDueAtMs()).toBe(t0 + 100);
    // The leader was down past s1's run time: it is due the moment the leader starts.
    expect(restored.promoteDue(t0 + 5_000).changed.map((task) => task.id)).toEqual(['s1']);
    expect(restored.pendingCount).toBe(1);
    expect(restored.nextDueAtMs()).toBe(t0 + 10_000);
  });
});
