import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { StaleError } from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/** A scheduler with worker w (4 slots), no backoff, and task 'dead' failed after 2 attempts. */
function setup() {
  const clock = new FakeClock();
  const scheduler = new Scheduler({
    maxPayloadBytes: 64,
    policy: { maxAttempts: 2, retryBackoffMs: 0, retryBackoffMaxMs: 0, timeoutMs: 0 },
  });
  scheduler.upsertWorker(m('w'), 4, new Set(['default']));
  scheduler.setEligible(m('w'), true);
  const now = () => clock.nowMs();
  const fail = (id: string, attempt: number) =>
    scheduler.complete(now(), {
      taskId: t(id),
      attempt,
      memberId: m('w'),
      error: `boom ${attempt}`,
    });
  scheduler.schedule(now(), { id: 'dead', payload: 'p', idempotencyKey: 'k' });
  scheduler.assign(now());
  fail('dead', 1);
  scheduler.assign(now());
  fail('dead', 2);
  return { clock, scheduler, now, fail };
}

describe('re-running a failed task', () => {
  it('is queued at the tail with a new series of attempts, its last error kept', () => {
    const { scheduler, now } = setup();
    expect(scheduler.get(t('dead'))).toMatchObject({
      status: 'error',
      attempt: 2,
      error: 'boom 2',
    });
    scheduler.schedule(now(), { id: 'before', payload: 'p' });
    const { task, changed } = scheduler.rerun(t('dead'));
    expect(changed).toEqual([task]);
    expect(task).toMatchObject({
      status: 'pending',
      attempt: 2,
      attemptBase: 2,
      error: 'boom 2',
      finishedAtMs: undefined,
      result: undefined,
    });
    expect(scheduler.assign(now()).starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['before', 1],
      ['dead', 3],
    ]);
  });

  it('gets max_attempts attempts again, then fails again; a report of an old attempt is refused', () => {
    const { scheduler, now, fail } = setup();
    scheduler.rerun(t('dead'));
    scheduler.assign(now());
    expect(() => fail('dead', 2)).toThrow(StaleError);
    fail('dead', 3);
    expect(scheduler.get(t('dead')).status).toBe('pending'); // attempt 1 of 2 in the series
    scheduler.assign(now());
    fail('dead', 4);
    expect(scheduler.get(t('dead'))).toMatchObject({
      status: 'error',
      attempt: 4,
      error: 'boom 4',
    });
  });

  it('holds its idempotency key again while open, and is not pruned meanwhile', () => {
    const { scheduler, now } = setup();
    expect(
      scheduler.scheduleMany(now(), [{ id: 'x', payload: 'p', idempotencyKey: 'other' }]).existing,
    ).toEqual([false]);
    scheduler.rerun(t('dead'));
    expect(
      scheduler.scheduleMany(now(), [{ id: 'y', payload: 'p', idempotencyKey: 'k' }]).tasks[0]!.id,
    ).toBe('dead');
    expect(scheduler.finishedCount).toBe(0);
    expect(scheduler.prune({ keep: 0, finishedBeforeMs: now() + 1, limit: 10 })).toEqual([]);
  });

  it('refuses a task that did not fail, and changes nothing', () => {
    const { scheduler, now } = setup();
    scheduler.schedule(now(), { id: 'open', payload: 'p' });
    expect(() => scheduler.rerun(t('open'))).toThrow(/is pending; only a failed task/);
    scheduler.cancel(now(), t('open'));
    expect(() => scheduler.rerun(t('open'))).toThrow(/is cancelled/);
    expect(() => scheduler.rerun(t('nope'))).toThrow(/not found/);
  });

  it('lists failed tasks, of a kind, oldest first', () => {
    const { scheduler } = setup();
    expect(scheduler.failedTasks(undefined, 10).map((task) => task.id)).toEqual(['dead']);
    expect(scheduler.failedTasks('other', 10)).toEqual([]);
    expect(scheduler.failedTasks('default', 0)).toEqual([]);
    scheduler.rerun(t('dead'));
    expect(scheduler.failedTasks(undefined, 10)).toEqual([]);
  });
});
