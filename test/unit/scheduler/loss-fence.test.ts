import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;
const FENCE_MS = 1_500;

/**
 * Worker a, whose attempts may outlive it by FENCE_MS (commands stopped after their kill
 * grace: JoinRequest.loss_fence_ms), holds `job`; worker b of one slot is free.
 */
function jobOnA(extra: object = {}) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 16, lostAttemptGraceMs: 3_000 });
  scheduler.upsertWorker(m('a'), 1, new Set(['default']), {
    beganNotices: true,
    lossFenceMs: FENCE_MS,
  });
  scheduler.setEligible(m('a'), true);
  scheduler.schedule(clock.nowMs(), { id: 'job', payload: 'p', ...extra });
  expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([{ memberId: 'a' }]);
  scheduler.upsertWorker(m('b'), 1, new Set(['default']));
  scheduler.setEligible(m('b'), true);
  const lose = () =>
    scheduler.removeWorker(m('a'), 'was lost (stream closed)', undefined, clock.nowMs());
  const assignNow = () => scheduler.assign(clock.nowMs()).starts;
  return { clock, scheduler, lose, assignNow };
}

describe("a lost worker's loss fence", () => {
  it('holds a begun attempt from other workers until the fence has passed', () => {
    const { clock, scheduler, lose, assignNow } = jobOnA();
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('job'), attempt: 1 }]);
    const lostAtMs = clock.nowMs();
    expect(lose().changed.map((x) => [x.id, x.status])).toEqual([['job', 'pending']]);
    expect(scheduler.get(t('job')).retryAtMs).toBe(lostAtMs + FENCE_MS);
    expect(scheduler.waitingReason(scheduler.get(t('job')))).toBe(
      `lost: member a was lost; attempt 1 may run on until ${new Date(lostAtMs + FENCE_MS).toISOString()}, while its commands are stopped, then the next starts`,
    );
    expect(assignNow()).toEqual([]);
    clock.advance(FENCE_MS - 1);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    clock.advance(1);
    expect(scheduler.promoteDue(clock.nowMs()).changed.map((x) => x.id)).toEqual(['job']);
    expect(assignNow()).toMatchObject([{ memberId: 'b', taskId: 'job', attempt: 2 }]);
  });

  it('requeues at once an attempt the worker never said it began: nothing of it runs', () => {
    const { lose, assignNow } = jobOnA();
    lose();
    expect(assignNow()).toMatchObject([{ memberId: 'b', taskId: 'job', attempt: 2 }]);
  });

  it('a last attempt waits the longer of the fence and the lost-attempt grace, then fails', () => {
    const { clock, scheduler, lose } = jobOnA({ maxAttempts: 1 });
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('job'), attempt: 1 }]);
    const lostAtMs = clock.nowMs();
    lose();
    expect(scheduler.get(t('job')).retryAtMs).toBe(lostAtMs + 3_000);
  });

  it('the worker that comes back within the fence re-attaches its attempt', () => {
    const { clock, scheduler, lose, assignNow } = jobOnA();
    scheduler.noteBegan(clock.nowMs(), m('a'), [{ taskId: t('job'), attempt: 1 }]);
    lose();
    scheduler.upsertWorker(m('a'), 1, new Set(['default']), { lossFenceMs: FENCE_MS });
    const { changed } = scheduler.reconcile(m('a'), [{ taskId: t('job'), attempt: 1 }], true);
    expect(changed.map((x) => [x.id, x.status])).toEqual([['job', 'running']]);
    expect(scheduler.get(t('job')).retryAtMs).toBeUndefined();
    clock.advance(FENCE_MS);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    expect(assignNow()).toEqual([]);
  });
});
