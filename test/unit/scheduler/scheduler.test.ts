import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StaleError,
  TooLargeError,
} from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

function setup(workers: Record<string, number> = {}) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 16 });
  for (const [id, slots] of Object.entries(workers)) {
    scheduler.upsertWorker(m(id), slots, new Set(['default']));
    scheduler.setEligible(m(id), true);
  }
  const schedule = (id: string, extra: object = {}) =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', ...extra }).task;
  return { clock, scheduler, schedule };
}

describe('Scheduler.schedule', () => {
  it('validates before changing anything', () => {
    const { scheduler, clock, schedule } = setup();
    schedule('a');
    const now = clock.nowMs();
    expect(() => scheduler.schedule(now, { id: 'a', payload: 'x' })).toThrow(ConflictError);
    expect(() => scheduler.schedule(now, { id: 'b', payload: '' })).toThrow(InvalidArgumentError);
    // 9 characters, 17 bytes in UTF-8: the limit is in bytes.
    expect(() => scheduler.schedule(now, { id: 'c', payload: 'é'.repeat(8) + 'x' })).toThrow(
      TooLargeError,
    );
    expect(() => scheduler.schedule(now, { id: 'd e', payload: 'x' })).toThrow(
      InvalidArgumentError,
    );
    expect(() => scheduler.schedule(now, { id: '', payload: 'x' })).toThrow(InvalidArgumentError);
    expect(() => scheduler.schedule(now, { id: 'f', payload: 'x', kind: 'bad kind' })).toThrow(
      InvalidArgumentError,
    );
    expect(scheduler.list({ pageSize: 100 }).map((task) => task.id)).toEqual(['a']);
    expect(scheduler.pendingCount).toBe(1);
  });

  it('schedules a batch all or nothing', () => {
    const { scheduler, clock } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'a', payload: 'x' },
        { id: 'a', payload: 'y' },
      ]),
    ).toThrow('tasks[1]: task a already exists');
    expect(scheduler.pendingCount).toBe(0);
    const { tasks } = scheduler.scheduleMany(clock.nowMs(), [
      { id: 'a', payload: 'x' },
      { id: 'b', payload: 'y', priority: 'high' },
    ]);
    expect(tasks.map((task) => [task.id, task.seq, task.kind, task.priority])).toEqual([
      ['a', 1, 'default', 'medium'],
      ['b', 2, 'default', 'high'],
    ]);
  });
});

describe('Scheduler.assign', () => {
  it('fills every free slot of every eligible worker, spreading round-robin', () => {
    const { scheduler, clock, schedule } = setup({ a: 2, b: 2 });
    for (let i = 0; i < 5; i++) schedule(`t${i}`);
    const { starts, changed } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.memberId, s.attempt])).toEqual([
      ['t0', 'a', 1],
      ['t1', 'b', 1],
      ['t2', 'a', 1],
      ['t3', 'b', 1],
    ]);
    expect(changed).toHaveLength(4);
    expect(scheduler.get(t('t4')).status).toBe('pending');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('gives nothing to an ineligible worker, and resumes when it is eligible again', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    scheduler.setEligible(m('a'), false);
    schedule('t');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    scheduler.setEligible(m('a'), true);
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['t']);
  });

  it('skips a worker that cannot take the head task and still serves the others', () => {
    const { scheduler, clock, schedule } = setup({ a: 1, b: 1 });
    schedule('for-b', { targetMemberId: 'b' });
    schedule('any');
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.memberId]).sort()).toEqual([
      ['any', 'a'],
      ['for-b', 'b'],
    ]);
  });
});

describe('Scheduler.complete', () => {
  function running() {
    const ctx = setup({ a: 1, b: 1 });
    ctx.schedule('t');
    ctx.scheduler.assign(ctx.clock.nowMs());
    return ctx;
  }

  it('records the result and frees the slot', () => {
    const { scheduler, clock, schedule } = running();
    clock.advance(5);
    const { task, changed } = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'ok',
    });
    expect(task).toMatchObject({ status: 'completed', result: 'ok', finishedAtMs: clock.nowMs() });
    expect(changed).toEqual([task]);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
    schedule('n1');
    schedule('n2');
    const starts = scheduler
      .assign(clock.nowMs())
      .starts.map((s) => s.memberId)
      .sort();
    expect(starts).toEqual(['a', 'b']);
  });

  it('is idempotent per (task, attempt)', () => {
    const { scheduler, clock } = running();
    scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'ok',
    });
    const snapshot = structuredClone(scheduler.get(t('t')));
    clock.advance(10);
    const again = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'other',
    });
    expect(again.changed).toEqual([]);
    expect(scheduler.get(t('t'))).toEqual(snapshot);
  });

  it('refuses a stale attempt or the wrong member and changes nothing', () => {
    const { scheduler, clock } = running();
    const snapshot = structuredClone(scheduler.get(t('t')));
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 2, memberId: m('a') }),
    ).toThrow(StaleError);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 1, memberId: m('b') }),
    ).toThrow(StaleError);
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('nope'), attempt: 1 })).toThrow(
      NotFoundError,
    );
    expect(scheduler.get(t('t'))).toEqual(snapshot);
  });

  it('accepts a manual completion of the current attempt (attempt 0, no member)', () => {
    const { scheduler, clock } = running();
    expect(
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 0, error: 'boom' }).task,
    ).toMatchObject({
      status: 'error',
      error: 'boom',
      attempt: 1,
    });
  });

  it('refuses completing a task that never started', () => {
    const { scheduler, clock, schedule } = setup();
    schedule('p');
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('p'), attempt: 0 })).toThrow(
      /has not started/,
    );
  });
});

describe('Scheduler.cancel', () => {
  it('cancels a pending task at once and takes it out of the queue', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('p');
    const { task, stop } = scheduler.cancel(clock.nowMs(), t('p'));
    expect(task.status).toBe('cancelled');
    expect(stop).toBeUndefined();
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('stops a running task and keeps its slot until the worker reports', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    const { task, stop } = scheduler.cancel(clock.nowMs(), t('r'));
    expect(task.status).toBe('cancelled');
    expect(stop).toEqual({ memberId: 'a', taskId: 'r', attempt: 1, reason: 'cancelled' });
    schedule('next');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    // The worker's report of the aborted attempt frees the slot; the task stays cancelled.
    const ack = scheduler.complete(clock.nowMs(), {
      taskId: t('r'),
      attempt: 1,
      memberId: m('a'),
      error: 'stopped',
    });
    expect(ack.changed).toEqual([]);
    expect(ack.task.status).toBe('cancelled');
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['next']);
  });

  it('is a no-op for a cancelled task and refused for a finished one', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('c');
    scheduler.cancel(clock.nowMs(), t('c'));
    expect(scheduler.cancel(clock.nowMs(), t('c')).changed).toEqual([]);
    schedule('d');
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('d'), attempt: 1, memberId: m('a') });
    expect(() => scheduler.cancel(clock.nowMs(), t('d'))).toThrow(StaleError);
  });
});

describe('Scheduler.removeWorker and reconcile', () => {
  it('requeues a lost worker’s tasks at the head of their priority, in their original order', () => {
    const { scheduler, clock, schedule } = setup({ a: 3 });
    for (const id of ['t1', 't2', 't3']) schedule(id);
    scheduler.assign(clock.nowMs());
    schedule('later');
    const { changed } = scheduler.removeWorker(m('a'));
    expect(changed.map((task) => task.status)).toEqual(['pending', 'pending', 'pending']);
    scheduler.upsertWorker(m('b'), 1, new Set(['default']));
    scheduler.setEligible(m('b'), true);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [start] = scheduler.assign(clock.nowMs()).starts;
      order.push(`${start!.taskId}#${start!.attempt}`);
      scheduler.complete(clock.nowMs(), {
        taskId: start!.taskId,
        attempt: start!.attempt,
        memberId: m('b'),
      });
    }
    expect(order).toEqual(['t1#2', 't2#2', 't3#2', 'later#1']);
  });

  it('re-attaches an attempt its worker still runs if nobody took it, and stops anything else', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('kept');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'));
    expect(scheduler.get(t('kept')).status).toBe('pending');
    scheduler.upsertWorker(m('a'), 2, new Set(['default']));
    const { changed, stops } = scheduler.reconcile(
      m('a'),
      [
        { taskId: t('kept'), attempt: 1 },
        { taskId: t('unknown'), attempt: 1 },
      ],
      true,
    );
    expect(changed.map((task) => [task.id, task.status, task.attempt])).toEqual([
      ['kept', 'running', 1],
    ]);
    expect(stops.map((s) => s.taskId)).toEqual(['unknown']);
    expect(scheduler.runningOn(m('a'))).toEqual(['kept']);
  });

  it('tells a worker to stop an attempt that was reassigned', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('moved');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'));
    scheduler.upsertWorker(m('b'), 1, new Set(['default']));
    scheduler.setEligible(m('b'), true);
    expect(scheduler.assign(clock.nowMs()).starts[0]).toMatchObject({ memberId: 'b', attempt: 2 });
    scheduler.upsertWorker(m('a'), 1, new Set(['default']));
    const { stops, changed } = scheduler.reconcile(
      m('a'),
      [{ taskId: t('moved'), attempt: 1 }],
      false,
    );
    expect(changed).toEqual([]);
    expect(stops).toEqual([
      {
        memberId: 'a',
        taskId: 'moved',
        attempt: 1,
        reason: 'attempt 1 of task moved is not assigned to a',
      },
    ]);
  });
});

describe('Scheduler.list', () => {
  it('pages in creation order with status and member filters', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    for (let i = 1; i <= 5; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs());
    const first = scheduler.list({ pageSize: 2 });
    expect(first.map((task) => task.id)).toEqual(['t1', 't2']);
    const second = scheduler.list({ pageSize: 2, afterSeq: first.at(-1)!.seq });
    expect(second.map((task) => task.id)).toEqual(['t3', 't4']);
    expect(scheduler.list({ pageSize: 10, status: 'running' }).map((task) => task.id)).toEqual([
      't1',
    ]);
    expect(scheduler.list({ pageSize: 10, status: 'pending' })).toHaveLength(4);
    expect(scheduler.list({ pageSize: 10, memberId: m('a') }).map((task) => task.id)).toEqual([
      't1',
    ]);
  });
});
