import { describe, expect, it } from 'vitest';
import { Scheduler, type NewTask } from '../../../src/scheduler/scheduler.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

function setup() {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 64 });
  scheduler.upsertWorker(m('w'), 4, new Set(['default']));
  scheduler.setEligible(m('w'), true);
  const schedule = (id: string, extra: Partial<NewTask> = {}) =>
    scheduler.scheduleMany(clock.nowMs(), [{ id, payload: 'p', ...extra }]);
  const ids = () => scheduler.list({ pageSize: 100 }).tasks.map((task) => task.id as string);
  return { clock, scheduler, schedule, ids };
}

describe('idempotency keys', () => {
  it('answers a second schedule with the same key with the first task, changing nothing', () => {
    const { schedule, scheduler, ids } = setup();
    const first = schedule('a', { idempotencyKey: 'order-42' });
    expect(first.existing).toEqual([false]);
    const again = schedule('b', { idempotencyKey: 'order-42', payload: 'different' });
    expect(again.tasks.map((task) => task.id)).toEqual(['a']);
    expect(again.existing).toEqual([true]);
    expect(again.changed).toEqual([]);
    expect(ids()).toEqual(['a']);
    expect(scheduler.get(t('a')).payload).toBe('p');
  });

  it('holds until the task finishes when no TTL is given; then the key is free again', () => {
    const { clock, schedule, scheduler, ids } = setup();
    schedule('a', { idempotencyKey: 'k' });
    scheduler.assign(clock.nowMs());
    expect(schedule('b', { idempotencyKey: 'k' }).existing).toEqual([true]); // running: holds
    scheduler.complete(clock.nowMs(), { taskId: t('a'), attempt: 1, memberId: m('w') });
    const after = schedule('b', { idempotencyKey: 'k' });
    expect(after.existing).toEqual([false]);
    expect(ids()).toEqual(['a', 'b']);
    expect(schedule('c', { idempotencyKey: 'k' }).tasks[0]!.id).toBe('b'); // b holds it now
  });

  it('holds for its TTL, also after the task finished, and not a millisecond longer', () => {
    const { clock, schedule, scheduler } = setup();
    schedule('a', { idempotencyKey: 'k', idempotencyTtlMs: 1_000 });
    scheduler.cancel(clock.nowMs(), t('a'));
    clock.advance(999);
    expect(schedule('b', { idempotencyKey: 'k' }).tasks[0]!.id).toBe('a');
    clock.advance(1);
    expect(schedule('b', { idempotencyKey: 'k' })).toMatchObject({ existing: [false] });
  });

  it('a TTL never ends the hold while the task is still open (a delayed task, say)', () => {
    const { clock, schedule } = setup();
    schedule('later', { idempotencyKey: 'k', idempotencyTtlMs: 1_000, delayMs: 60_000 });
    clock.advance(5_000);
    expect(schedule('dup', { idempotencyKey: 'k' }).tasks[0]!.id).toBe('later');
  });

  it('a failed or cancelled task without TTL lets go of its key', () => {
    const { clock, schedule, scheduler } = setup();
    schedule('a', { idempotencyKey: 'k', maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('a'), attempt: 1, memberId: m('w'), error: 'x' });
    expect(scheduler.get(t('a')).status).toBe('error');
    expect(schedule('b', { idempotencyKey: 'k' }).existing).toEqual([false]);
    scheduler.cancel(clock.nowMs(), t('b'));
    expect(schedule('c', { idempotencyKey: 'k' }).existing).toEqual([false]);
  });

  it('a pruned or deleted task lets go of its key, whatever its TTL', () => {
    const { clock, schedule, scheduler } = setup();
    schedule('a', { idempotencyKey: 'k', idempotencyTtlMs: 60_000 });
    scheduler.cancel(clock.nowMs(), t('a'));
    scheduler.forget(t('a'));
    expect(schedule('b', { idempotencyKey: 'k' }).existing).toEqual([false]);
  });

  it('in one batch: the second with a key is answered by the first, and a refused batch claims no key', () => {
    const { clock, scheduler, ids } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'x', payload: 'p', idempotencyKey: 'k' },
        { id: 'y', payload: '' },
      ]),
    ).toThrow(/tasks\[1\]/);
    const { tasks, existing, changed } = scheduler.scheduleMany(clock.nowMs(), [
      { id: 'x', payload: 'p', idempotencyKey: 'k' },
      { id: 'y', payload: 'p', idempotencyKey: 'k' },
      { id: 'z', payload: 'p' },
    ]);
    expect(tasks.map((task) => task.id)).toEqual(['x', 'x', 'z']);
    expect(existing).toEqual([false, true, false]);
    expect(changed.map((task) => task.id)).toEqual(['x', 'z']);
    expect(ids()).toEqual(['x', 'z']);
  });

  it('a held key wins over the id: a retry under a new id still gets the first task', () => {
    const { schedule } = setup();
    schedule('first-id', { idempotencyKey: 'k' });
    expect(schedule('retry-id', { idempotencyKey: 'k' }).tasks[0]!.id).toBe('first-id');
  });

  it('keys survive a restart: the newest task with a key holds it', () => {
    const { clock, schedule, scheduler } = setup();
    schedule('old', { idempotencyKey: 'k' });
    scheduler.cancel(clock.nowMs(), t('old'));
    schedule('new', { idempotencyKey: 'k' });
    schedule('ttl', { idempotencyKey: 'kt', idempotencyTtlMs: 500 });
    scheduler.cancel(clock.nowMs(), t('ttl'));
    const records = scheduler.list({ pageSize: 10 }).tasks.map((task) => ({ ...task }));
    const restored = new Scheduler({ maxPayloadBytes: 64 });
    restored.restore(records);
    const now = clock.nowMs();
    const again = restored.scheduleMany(now, [
      { id: 'n2', payload: 'p', idempotencyKey: 'k' },
      { id: 't2', payload: 'p', idempotencyKey: 'kt' },
    ]);
    expect(again.tasks.map((task) => task.id)).toEqual(['new', 'ttl']);
    expect(
      restored.scheduleMany(now + 500, [{ id: 't3', payload: 'p', idempotencyKey: 'kt' }]),
    ).toMatchObject({ existing: [false] });
  });
});
