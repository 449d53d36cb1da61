import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;

function setup() {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 64 });
  scheduler.upsertWorker(m('w'), 2, new Set(['resize', 'mail']));
  scheduler.setEligible(m('w'), true);
  const schedule = (id: string, kind: string) =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', kind }).task;
  const started = () => scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId as string);
  return { clock, scheduler, schedule, started };
}

describe('pausing a kind', () => {
  it('starts nothing of a paused kind, and a free slot still takes other kinds (no head-of-line blocking)', () => {
    const { scheduler, schedule, started } = setup();
    expect(scheduler.pauseKind('resize')).toBe(true);
    expect(scheduler.pauseKind('resize')).toBe(false);
    schedule('r1', 'resize');
    schedule('m1', 'mail');
    schedule('r2', 'resize');
    expect(started()).toEqual(['m1']);
    expect(scheduler.get('r1' as TaskId).status).toBe('pending');
    expect(scheduler.waitingReason(scheduler.get('r1' as TaskId))).toBe('paused: kind resize');
    expect(scheduler.waitingReason(scheduler.get('m1' as TaskId))).toBeUndefined();
  });

  it('resumed, offers its queued tasks in their order', () => {
    const { scheduler, schedule, started } = setup();
    scheduler.pauseKind('resize');
    schedule('r1', 'resize');
    schedule('r2', 'resize');
    expect(started()).toEqual([]);
    expect(scheduler.resumeKind('resize')).toBe(true);
    expect(scheduler.resumeKind('resize')).toBe(false);
    expect(started()).toEqual(['r1', 'r2']);
  });

  it('leaves running tasks of the kind alone', () => {
    const { clock, scheduler, schedule, started } = setup();
    schedule('r1', 'resize');
    expect(started()).toEqual(['r1']);
    scheduler.pauseKind('resize');
    expect(scheduler.get('r1' as TaskId).status).toBe('running');
    expect(scheduler.waitingReason(scheduler.get('r1' as TaskId))).toBeUndefined();
    scheduler.complete(clock.nowMs(), { taskId: 'r1' as TaskId, attempt: 1, memberId: m('w') });
    expect(scheduler.get('r1' as TaskId).status).toBe('completed');
  });
});
