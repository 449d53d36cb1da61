import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/**
 * Workers a and b of one slot each; task `slow` (timeout 1 s, retry after `backoffMs`)
 * started on a and timed out there, told to stop.
 */
function timedOutOnA(backoffMs: number) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 16 });
  for (const id of ['a', 'b']) {
    scheduler.upsertWorker(m(id), 1, new Set(['default']));
    scheduler.setEligible(m(id), true);
  }
  scheduler.schedule(clock.nowMs(), {
    id: 'slow',
    payload: 'p',
    timeoutMs: 1_000,
    retryBackoffMs: backoffMs,
  });
  expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([{ memberId: 'a' }]);
  clock.advance(1_000);
  expect(scheduler.expire(clock.nowMs()).stops).toHaveLength(1);
  const assignNow = () => scheduler.assign(clock.nowMs()).starts;
  const promoteNow = () => scheduler.promoteDue(clock.nowMs()).changed.map((x) => x.id);
  return { clock, scheduler, assignNow, promoteNow };
}

describe('retries wait for their stopped attempt to end', () => {
  it('a retry whose backoff ends first waits, then starts once the old attempt is reported', () => {
    const { clock, scheduler, assignNow, promoteNow } = timedOutOnA(500);
    clock.advance(500);
    // Due, but attempt 1 still stops on a: parked, not queued, and saved without its wait.
    expect(promoteNow()).toEqual(['slow']);
    expect(scheduler.get(t('slow')).retryAtMs).toBeUndefined();
    expect(assignNow()).toEqual([]);
    expect(scheduler.waitingReason(scheduler.get(t('slow')))).toMatch(/^stopping: attempt 1/);
    clock.advance(5_000);
    expect(assignNow()).toEqual([]);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('slow'), attempt: 1, memberId: m('a') }),
    ).toThrow(/timed out and was stopped/);
    expect(assignNow()).toMatchObject([{ taskId: 'slow', attempt: 2 }]);
  });

  it('an old attempt that ends within the backoff changes nothing: the retry keeps its time', () => {
    const { clock, scheduler, assignNow, promoteNow } = timedOutOnA(500);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('slow'), attempt: 1, memberId: m('a') }),
    ).toThrow(/timed out/);
    expect(assignNow()).toEqual([]);
    clock.advance(499);
    expect(promoteNow()).toEqual([]);
    clock.advance(1);
    expect(promoteNow()).toEqual(['slow']);
    expect(scheduler.waitingReason(scheduler.get(t('slow')))).toBeUndefined();
    expect(assignNow()).toMatchObject([{ taskId: 'slow', attempt: 2 }]);
  });

  it("the stopping worker's loss ends the wait: its attempt can run no more", () => {
    const { scheduler, assignNow } = timedOutOnA(0);
    expect(assignNow()).toEqual([]);
    scheduler.removeWorker(m('a'), 'was lost (stream closed)');
    expect(assignNow()).toMatchObject([{ memberId: 'b', taskId: 'slow', attempt: 2 }]);
  });

  it('a parked retry that is cancelled never starts, and is forgotten', () => {
    const { clock, scheduler, assignNow } = timedOutOnA(0);
    expect(scheduler.cancel(clock.nowMs(), t('slow')).task.status).toBe('cancelled');
    expect(scheduler.delayedCount).toBe(1); // until the next round looks
    scheduler.removeWorker(m('a'), 'was lost (stream closed)');
    expect(assignNow()).toEqual([]);
    expect(scheduler.delayedCount).toBe(0);
    expect(scheduler.get(t('slow')).status).toBe('cancelled');
  });
});
