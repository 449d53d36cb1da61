import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { WorkerAbilities } from '../../../src/scheduler/worker-record.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

export const m = (id: string) => id as MemberId;
export const t = (id: string) => id as TaskId;

/**
 * A scheduler with deep prefetch for short tasks (up to 8 ahead, attempts under 50 ms) on
 * a fake clock, with worker `a` of 1 slot joined; `can` is what every worker joined by
 * `join` says it can do. Tasks scheduled with `schedule` get `defaults` unless the test
 * says otherwise.
 */
export function prefetchingScheduler(can: WorkerAbilities = {}, defaults: object = {}) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({
    maxPayloadBytes: 64,
    prefetch: { maxTasks: 8, shortAttemptMs: 50 },
  });
  const join = (id: string, slots: number, kinds = ['default']) => {
    scheduler.upsertWorker(m(id), slots, new Set(kinds), can);
    scheduler.setEligible(m(id), true);
  };
  join('a', 1);
  const schedule = (id: string, extra: object = {}) =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', ...defaults, ...extra }).task;
  /** `a` runs and reports one 1 ms task: it is judged short, so tasks go to it ahead. */
  const warmUp = () => {
    scheduler.schedule(clock.nowMs(), { id: 'warm', payload: 'p' });
    scheduler.assign(clock.nowMs());
    clock.advance(1);
    scheduler.complete(clock.nowMs(), { taskId: t('warm'), attempt: 1, memberId: m('a') });
  };
  /** The attempts `memberId` says it began: each task's current one. */
  const began = (memberId: string, ...ids: string[]) =>
    scheduler.noteBegan(
      clock.nowMs(),
      m(memberId),
      ids.map((id) => ({ taskId: t(id), attempt: scheduler.get(t(id)).attempt })),
    );
  return { clock, scheduler, join, schedule, warmUp, began };
}
