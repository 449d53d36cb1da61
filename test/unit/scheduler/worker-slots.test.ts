import { describe, expect, it } from 'vitest';
import { WorkerSlots } from '../../../src/scheduler/worker-slots.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { nextReady, readyCount } from './slot-lines.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/** Eligible workers with the given slot counts, all running the default kind. */
function setup(workers: Record<string, number> = {}) {
  const slots = new WorkerSlots();
  for (const [id, count] of Object.entries(workers)) {
    slots.upsert(m(id), count, new Set(['default']));
    slots.setEligible(m(id), true);
  }
  return slots;
}

/** The line for work, front first, left as it was. */
function line(slots: WorkerSlots): string[] {
  const order: string[] = [];
  for (let taker = nextReady(slots); taker !== undefined; taker = nextReady(slots)) {
    order.push(taker.id);
  }
  for (const id of order) slots.putBack(m(id));
  return order;
}

describe('WorkerSlots: joining and eligibility', () => {
  it('a new worker is known but not in line until it is eligible', () => {
    const slots = new WorkerSlots();
    slots.upsert(m('a'), 2, new Set(['default']));
    expect(slots.has(m('a'))).toBe(true);
    expect(readyCount(slots)).toBe(0);
    expect(nextReady(slots)).toBeUndefined();
    slots.setEligible(m('a'), true);
    expect(line(slots)).toEqual(['a']);
    slots.setEligible(m('a'), false);
    expect(readyCount(slots)).toBe(0);
  });

  it('ignores eligibility for an unknown worker', () => {
    const slots = setup();
    slots.setEligible(m('ghost'), true);
    expect(slots.has(m('ghost'))).toBe(false);
    expect(readyCount(slots)).toBe(0);
  });

  it('a rejoin updates slots and kinds and keeps eligibility and the tasks it holds', () => {
    const slots = setup({ a: 2 });
    slots.occupy(m('a'), t('x'));
    slots.upsert(m('a'), 1, new Set(['image']));
    expect(readyCount(slots)).toBe(0); // 1 slot, 1 held
    expect(slots.runningOn(m('a'))).toEqual(['x']);
    slots.upsert(m('a'), 3, new Set(['image']));
    const taker = nextReady(slots);
    expect(taker?.id).toBe('a');
    expect([...taker!.kinds]).toEqual(['image']);
  });
});

describe('WorkerSlots: the line for work', () => {
  it('takes workers front first; one put back goes to the end', () => {
    const slots = setup({ a: 1, b: 1, c: 1 });
    expect(nextReady(slots)?.id).toBe('a');
    slots.putBack(m('a'));
    expect(line(slots)).toEqual(['b', 'c', 'a']);
  });

  it('a worker given a task goes to the end while it has a slot left, and leaves when full', () => {
    const slots = setup({ a: 2, b: 1 });
    nextReady(slots);
    slots.occupy(m('a'), t('x'));
    expect(line(slots)).toEqual(['b', 'a']);
    slots.occupy(m('a'), t('y'));
    expect(line(slots)).toEqual(['b']);
    expect(slots.hasFreeSlot(m('a'))).toBe(false);
  });

  it('a freed slot puts a full worker back in line; an ineligible one stays out', () => {
    const slots = setup({ a: 1 });
    slots.occupy(m('a'), t('x'));
    expect(readyCount(slots)).toBe(0);
    slots.release(m('a'), t('x'));
    expect(line(slots)).toEqual(['a']);
    slots.occupy(m('a'), t('y'));
    slots.setEligible(m('a'), false);
    slots.release(m('a'), t('y'));
    expect(readyCount(slots)).toBe(0);
    expect(slots.hasFreeSlot(m('a'))).toBe(true);
  });
});

describe('WorkerSlots: slots held', () => {
  it('tracks which tasks hold a worker’s slots', () => {
    const slots = setup({ a: 3 });
    slots.occupy(m('a'), t('x'));
    slots.occupy(m('a'), t('y'));
    expect(slots.runningOn(m('a'))).toEqual(['x', 'y']);
    expect(slots.holds(m('a'), t('x'))).toBe(true);
    expect(slots.holds(m('b'), t('x'))).toBe(false);
    expect(slots.hasFreeSlot(m('a'))).toBe(true);
    expect(slots.runningOn(m('nobody'))).toEqual([]);
    expect(slots.hasFreeSlot(m('nobody'))).toBe(false);
  });

  it('releasing a slot that is not held, or of no member, changes nothing', () => {
    const slots = setup({ a: 1 });
    slots.occupy(m('a'), t('x'));
    slots.release(m('a'), t('other'));
    slots.release(undefined, t('x'));
    slots.release(m('ghost'), t('x'));
    expect(slots.runningOn(m('a'))).toEqual(['x']);
    expect(readyCount(slots)).toBe(0);
  });

  it('refuses to give a task to an unknown worker', () => {
    const slots = setup();
    expect(() => slots.occupy(m('ghost'), t('x'))).toThrow(/not a known worker/);
  });
});

describe('WorkerSlots: attempts told to stop', () => {
  it('a stopping attempt keeps its slot until its report, which frees it exactly once', () => {
    const slots = setup({ a: 1 });
    slots.occupy(m('a'), t('x'));
    slots.markStopping(m('a'), t('x'), 1);
    expect(slots.runningOn(m('a'))).toEqual([]);
    expect(slots.stoppingOn(m('a'))).toBe(1);
    expect(slots.hasFreeSlot(m('a'))).toBe(false);
    expect(readyCount(slots)).toBe(0);
    // Held against forgetting, whichever member the record names now.
    expect(slots.holdsSlot(undefined, t('x'))).toBe(true);
    expect(slots.holdsSlot(m('b'), t('x'))).toBe(true);
    // Another attempt, or another member, does not free it.
    expect(slots.releaseStopping(m('a'), t('x'), 2)).toBe(false);
    expect(slots.releaseStopping(m('b'), t('x'), 1)).toBe(false);
    expect(slots.releaseStopping(m('a'), t('x'), 1)).toBe(true);
    expect(slots.releaseStopping(m('a'), t('x'), 1)).toBe(false); // a duplicate report
    expect(slots.stoppingOn(m('a'))).toBe(0);
    expect(slots.holdsSlot(undefined, t('x'))).toBe(false);
    expect(line(slots)).toEqual(['a']);
  });

  it('marks nothing for a task that holds no slot there', () => {
    const slots = setup({ a: 1 });
    slots.markStopping(m('a'), t('x'), 1);
    slots.markStopping(m('ghost'), t('x'), 1);
    expect(slots.stoppingOn(m('a'))).toBe(0);
    expect(slots.holdsSlot(undefined, t('x'))).toBe(false);
    expect(slots.hasFreeSlot(m('a'))).toBe(true);
  });

  it('a task stopping on two workers is held until both have reported', () => {
    const slots = setup({ a: 1, b: 1 });
    slots.occupy(m('a'), t('x'));
    slots.markStopping(m('a'), t('x'), 1);
    slots.occupy(m('b'), t('x'));
    slots.markStopping(m('b'), t('x'), 2);
    expect(slots.releaseStopping(m('a'), t('x'), 1)).toBe(true);
    expect(slots.holdsSlot(undefined, t('x'))).toBe(true);
    expect(slots.releaseStopping(m('b'), t('x'), 2)).toBe(true);
    expect(slots.holdsSlot(undefined, t('x'))).toBe(false);
  });
});

describe('WorkerSlots.remove', () => {
  it('forgets a worker: returns the tasks it held, drops it from the line and its stops', () => {
    const slots = setup({ a: 3, b: 1 });
    slots.occupy(m('a'), t('x'));
    slots.occupy(m('a'), t('y'));
    slots.occupy(m('a'), t('z'));
    slots.markStopping(m('a'), t('z'), 1);
    expect(slots.remove(m('a'))?.sort()).toEqual(['x', 'y']);
    expect(slots.has(m('a'))).toBe(false);
    expect(line(slots)).toEqual(['b']);
    expect(slots.holdsSlot(undefined, t('z'))).toBe(false);
    expect(slots.holdsSlot(m('a'), t('x'))).toBe(false);
    expect(slots.stoppingOn(m('a'))).toBe(0);
    expect(slots.releaseStopping(m('a'), t('z'), 1)).toBe(false);
  });

  it('returns undefined for an unknown worker', () => {
    expect(setup().remove(m('ghost'))).toBeUndefined();
  });

  it('a removed worker that joins again starts over: ineligible, nothing held', () => {
    const slots = setup({ a: 1 });
    slots.occupy(m('a'), t('x'));
    slots.remove(m('a'));
    slots.upsert(m('a'), 1, new Set(['default']));
    expect(readyCount(slots)).toBe(0);
    expect(slots.runningOn(m('a'))).toEqual([]);
    expect(slots.hasFreeSlot(m('a'))).toBe(true);
  });
});
