import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { WorkerSlots, type PrefetchPolicy } from '../../../src/scheduler/worker-slots.js';
import { prefetchDepth } from '../../../src/scheduler/slot-policy.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { nextReady, readyCount } from './slot-lines.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;
const POLICY: PrefetchPolicy = { maxTasks: 8, shortAttemptMs: 50 };

/** Eligible workers with the given slot counts under a prefetch policy. */
function slotsWith(workers: Record<string, number>, policy: PrefetchPolicy = POLICY) {
  const slots = new WorkerSlots(() => {}, policy);
  for (const [id, count] of Object.entries(workers)) {
    slots.upsert(m(id), count, new Set(['default']));
    slots.setEligible(m(id), true);
  }
  return slots;
}

/** Gives a worker tasks from the line until it leaves the line; returns how many it took. */
function fill(slots: WorkerSlots, id: string, prefix: string): number {
  let taken = 0;
  for (let taker = nextReady(slots); taker?.id === id; taker = nextReady(slots)) {
    slots.occupy(m(id), t(`${prefix}${taken++}`));
  }
  return taken;
}

describe('WorkerSlots: prefetch', () => {
  it('gives a worker no more than its slots until it has reported a short attempt', () => {
    const slots = slotsWith({ a: 2 });
    expect(fill(slots, 'a', 'x')).toBe(2);
    slots.observeAttempt(m('a'), 20);
    expect(readyCount(slots)).toBe(1);
    // Attempts of 20 ms: two per slot fit in the 50 ms limit, so 4 go ahead of 2 slots.
    expect(fill(slots, 'a', 'y')).toBe(4);
    expect(slots.runningOn(m('a'))).toHaveLength(6);
  });

  it('caps what goes ahead at maxTasks', () => {
    const slots = slotsWith({ a: 8 }, { maxTasks: 3, shortAttemptMs: 50 });
    slots.observeAttempt(m('a'), 1);
    expect(fill(slots, 'a', 'x')).toBe(11);
  });

  it('hands ahead fewer the longer the attempts: about the limit of waiting per slot', () => {
    const policy = { maxTasks: 64, shortAttemptMs: 50 };
    const depth = (ms: number) => prefetchDepth(8, ms, policy);
    expect(depth(0.5)).toBe(64); // 100 per slot fit: maxTasks caps it
    expect(depth(10)).toBe(40); // 5 per slot
    expect(depth(26)).toBe(8); // one per slot, never fewer while short
    expect(depth(50)).toBe(8);
    expect(depth(0)).toBe(64); // timed starts can report 0 ms
    expect(prefetchDepth(1, 2, policy)).toBe(25); // a worker of one slot: 25 x 2 ms = 50
    // In WorkerSlots: the average moves, and so does the room ahead.
    const slots = slotsWith({ a: 8 }, policy);
    slots.observeAttempt(m('a'), 10);
    expect(fill(slots, 'a', 'x')).toBe(8 + 40);
  });

  it('never hands a task ahead to a busy worker while another has a free slot', () => {
    const slots = slotsWith({ a: 1, b: 1 });
    slots.observeAttempt(m('a'), 1);
    slots.observeAttempt(m('b'), 1);
    slots.occupy(m('a'), t('x')); // a busy, with room to prefetch; b idle
    expect(nextReady(slots)?.id).toBe('b');
    slots.occupy(m('b'), t('y'));
    // Every slot busy: now the prefetch room is used, a first, then b.
    expect(nextReady(slots)?.id).toBe('a');
    slots.occupy(m('a'), t('z'));
    expect(nextReady(slots)?.id).toBe('b');
  });

  it('stops once a run of slow attempts lifts the average past the short limit', () => {
    const slots = slotsWith({ a: 1 });
    slots.observeAttempt(m('a'), 10);
    slots.occupy(m('a'), t('x'));
    expect(readyCount(slots)).toBe(1);
    // One slow attempt moves the average a fifth of the way: still short.
    slots.observeAttempt(m('a'), 200);
    expect(readyCount(slots)).toBe(1);
    for (let i = 0; i < 5; i++) slots.observeAttempt(m('a'), 200);
    expect(readyCount(slots)).toBe(0);
    // Short again after a run of quick ones.
    for (let i = 0; i < 20; i++) slots.observeAttempt(m('a'), 5);
    expect(readyCount(slots)).toBe(1);
  });

  it('a worker over its slots when prefetch stops gets nothing until it drains below them', () => {
    const slots = slotsWith({ a: 2 }, { maxTasks: 2, shortAttemptMs: 50 });
    slots.observeAttempt(m('a'), 1);
    expect(fill(slots, 'a', 'x')).toBe(4);
    for (let i = 0; i < 20; i++) slots.observeAttempt(m('a'), 1_000);
    slots.release(m('a'), t('x0'));
    slots.release(m('a'), t('x1'));
    expect(readyCount(slots)).toBe(0); // 2 held, 2 slots
    slots.release(m('a'), t('x2'));
    expect(line(slots)).toEqual(['a']);
  });

  it('does nothing without a policy (the default)', () => {
    const slots = new WorkerSlots();
    slots.upsert(m('a'), 1, new Set(['default']));
    slots.setEligible(m('a'), true);
    slots.observeAttempt(m('a'), 1);
    expect(fill(slots, 'a', 'x')).toBe(1);
  });
});

/** The line for work, front first, left as it was. */
function line(slots: WorkerSlots): string[] {
  const order: string[] = [];
  for (let taker = nextReady(slots); taker !== undefined; taker = nextReady(slots)) {
    order.push(taker.id);
  }
  for (const id of order) slots.putBack(m(id));
  return order;
}

describe('Scheduler: prefetch', () => {
  function setup(slots: number) {
    const clock = new FakeClock();
    const scheduler = new Scheduler({ maxPayloadBytes: 64, prefetch: POLICY });
    scheduler.upsertWorker(m('w'), slots, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    const schedule = (id: string, key?: string) =>
      scheduler.schedule(clock.nowMs(), { id, payload: 'p', concurrencyKey: key });
    const started = () => scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId as string);
    const finish = (id: string) => {
      const task = scheduler.get(t(id));
      scheduler.complete(clock.nowMs(), { taskId: t(id), attempt: task.attempt, memberId: m('w') });
    };
    return { clock, scheduler, schedule, started, finish };
  }

  it('after a short attempt, hands a worker tasks ahead of its slots, in FIFO order', () => {
    const { clock, scheduler, schedule, started, finish } = setup(2);
    for (let i = 1; i <= 8; i++) schedule(`t${i}`);
    expect(started()).toEqual(['t1', 't2']);
    clock.advance(20);
    finish('t1');
    // t3 takes the freed slot; t4 to t7 go ahead (20 ms attempts: 2 per slot), and their
    // start orders say so.
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.ahead ?? false])).toEqual([
      ['t3', false],
      ['t4', true],
      ['t5', true],
      ['t6', true],
      ['t7', true],
    ]);
    expect(started()).toEqual([]);
  });

  it('an idle worker that cannot take the queued tasks (other kinds, not their target) does not hold prefetch back', () => {
    const { clock, scheduler, schedule, started, finish } = setup(2);
    // `cmd` runs only commands: idle, with a free slot, and of no use to these tasks.
    scheduler.upsertWorker(m('cmd'), 1, new Set(['command']));
    scheduler.setEligible(m('cmd'), true);
    for (let i = 1; i <= 4; i++) schedule(`t${i}`);
    scheduler.schedule(clock.nowMs(), { id: 'for-w', payload: 'p', targetMemberId: 'w' });
    expect(started()).toEqual(['t1', 't2']);
    clock.advance(4);
    finish('t1');
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.memberId, s.ahead ?? false])).toEqual([
      ['t3', 'w', false],
      ['t4', 'w', true],
      ['for-w', 'w', true],
    ]);
  });

  it('a free slot still comes first: no task goes ahead while an idle worker can take it', () => {
    const { clock, scheduler, schedule, started, finish } = setup(2);
    for (let i = 1; i <= 3; i++) schedule(`t${i}`);
    expect(started()).toEqual(['t1', 't2']);
    clock.advance(4);
    finish('t1');
    expect(started()).toEqual(['t3']);
    scheduler.upsertWorker(m('idle'), 1, new Set(['default']));
    scheduler.setEligible(m('idle'), true);
    schedule('t4');
    schedule('t5');
    // t4 to the idle worker's free slot; t5 ahead to w (busy, short tasks), not waiting.
    expect(
      scheduler.assign(clock.nowMs()).starts.map((s) => [s.taskId, s.memberId, s.ahead ?? false]),
    ).toEqual([
      ['t4', 'idle', false],
      ['t5', 'w', true],
    ]);
  });

  it('a slow worker gets no tasks ahead', () => {
    const { clock, schedule, started, finish } = setup(2);
    for (let i = 1; i <= 8; i++) schedule(`t${i}`);
    expect(started()).toEqual(['t1', 't2']);
    clock.advance(500);
    finish('t1');
    expect(started()).toEqual(['t3']);
  });

  it('hands no task of a rate-limited key ahead: held tasks would start together, over the rate', () => {
    const { clock, scheduler, schedule, started, finish } = setup(1);
    scheduler.keyLimits.set(
      { key: 'api' },
      { maxRunning: undefined, rate: { count: 5, intervalMs: 1000, burst: 1 } },
    );
    schedule('warm');
    expect(started()).toEqual(['warm']);
    clock.advance(1);
    finish('warm'); // a short attempt: w now takes tasks ahead of its slot
    schedule('busy');
    schedule('u1');
    expect(started()).toEqual(['busy', 'u1']); // u1 ahead of the busy slot
    schedule('r1', 'api');
    schedule('r2', 'api');
    expect(started()).toEqual([]); // not ahead
    finish('busy');
    expect(started()).toEqual([]); // u1 holds the slot now
    finish('u1');
    const starts = scheduler.assign(clock.nowMs()).starts;
    expect(starts.map((s) => [s.taskId, s.ahead ?? false])).toEqual([['r1', false]]);
    clock.advance(200); // the next token
    scheduler.promoteDue(clock.nowMs());
    expect(started()).toEqual([]); // r1 still runs: r2 waits for the slot, not ahead of it
    finish('r1');
    expect(started()).toEqual(['r2']);
  });

  it('tasks handed ahead count against their key limit: it is never exceeded', () => {
    const { clock, scheduler, schedule, started, finish } = setup(4);
    scheduler.keyLimits.set({ key: 'k' }, { maxRunning: 2, rate: undefined });
    for (let i = 1; i <= 6; i++) schedule(`k${i}`, 'k');
    expect(started()).toEqual(['k1', 'k2']);
    clock.advance(1);
    finish('k1');
    expect(started()).toEqual(['k3']);
    expect(scheduler.keyLimits.running('k')).toBe(2);
  });
});
