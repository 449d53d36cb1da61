import { describe, expect, it } from 'vitest';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { seededRandom } from '../../helpers/seeded-random.js';
import { taskRecord } from '../../helpers/task-record.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;
const none = { maxRunning: undefined, rate: undefined };

function setup(slots = 4, kinds = ['default', 'mail']) {
  const clock = new FakeClock();
  const scheduler = new Scheduler({ maxPayloadBytes: 64 });
  scheduler.upsertWorker(m('w'), slots, new Set(kinds));
  scheduler.setEligible(m('w'), true);
  const schedule = (id: string, key?: string, kind = 'default') =>
    scheduler.schedule(clock.nowMs(), { id, payload: 'p', kind, concurrencyKey: key }).task;
  const started = () => scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId as string);
  const finish = (id: string) => {
    const task = scheduler.get(t(id));
    scheduler.complete(clock.nowMs(), { taskId: t(id), attempt: task.attempt, memberId: m('w') });
  };
  return { clock, scheduler, schedule, started, finish };
}

describe('concurrency limits per key', () => {
  it('never runs more of a key than its limit, and says why the rest wait', () => {
    const { scheduler, schedule, started, finish } = setup(4);
    scheduler.keyLimits.set({ key: 'customer:42' }, { ...none, maxRunning: 2 });
    for (let i = 1; i <= 5; i++) schedule(`a${i}`, 'customer:42');
    expect(started()).toEqual(['a1', 'a2']);
    expect(scheduler.waitingReason(scheduler.get(t('a3')))).toBe('concurrency customer:42 2/2');
    finish('a1');
    expect(started()).toEqual(['a3']);
    expect(scheduler.keyLimits.running('customer:42')).toBe(2);
  });

  it('a held key never stalls a free slot another key could use (no head-of-line blocking)', () => {
    const { scheduler, schedule, started } = setup(3);
    scheduler.keyLimits.set({ key: 'big' }, { ...none, maxRunning: 1 });
    for (let i = 1; i <= 100; i++) schedule(`big${i}`, 'big');
    schedule('small1', 'small');
    schedule('plain1');
    expect(started()).toEqual(['big1', 'small1', 'plain1']);
  });

  it('takes turns between keys within a priority: a small tenant is not starved by a big one', () => {
    const { scheduler, schedule, started, finish } = setup(1);
    for (let i = 1; i <= 1000; i++) schedule(`big${i}`, 'big');
    for (let i = 1; i <= 10; i++) schedule(`small${i}`, 'small');
    const order: string[] = [];
    for (let round = 0; round < 20; round++) {
      const [id] = started();
      order.push(id!);
      finish(id!);
    }
    // Strict alternation: the tenant with 10 tasks is done within the first 20 starts.
    expect(order.filter((id) => id.startsWith('small'))).toHaveLength(10);
    expect(order.slice(0, 4)).toEqual(['big1', 'small1', 'big2', 'small2']);
    void scheduler;
  });

  it('keeps FIFO inside each key and priority order across keys', () => {
    const { scheduler, schedule, started } = setup(10);
    schedule('a1', 'a');
    schedule('a2', 'a');
    scheduler.schedule(0, { id: 'h1', payload: 'p', concurrencyKey: 'b', priority: 'high' });
    expect(started()).toEqual(['h1', 'a1', 'a2']);
  });

  it('applies a kind default to each key of that kind on its own, and a key limit over it', () => {
    const { scheduler, schedule, started } = setup(10, ['mail']);
    scheduler.keyLimits.set({ kind: 'mail' }, { ...none, maxRunning: 1 });
    scheduler.keyLimits.set({ key: 'vip' }, { ...none, maxRunning: 3 });
    for (const key of ['x', 'y', 'vip'])
      for (let i = 1; i <= 3; i++) schedule(`${key}${i}`, key, 'mail');
    schedule('nokey', undefined, 'mail');
    expect(started().sort()).toEqual(['nokey', 'vip1', 'vip2', 'vip3', 'x1', 'y1']);
    expect(scheduler.waitingReason(scheduler.get(t('x2')))).toBe('concurrency x 1/1');
  });

  it('counts an attempt told to stop until its worker confirms, and frees on worker loss', () => {
    const { clock, scheduler, schedule, started } = setup(4);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 1 });
    schedule('k1', 'k');
    schedule('k2', 'k');
    expect(started()).toEqual(['k1']);
    scheduler.cancel(clock.nowMs(), t('k1'));
    // Cancelled, but the worker may still be running it: k2 waits for the confirmation.
    expect(started()).toEqual([]);
    scheduler.complete(clock.nowMs(), { taskId: t('k1'), attempt: 1, memberId: m('w') });
    expect(started()).toEqual(['k2']);
    scheduler.removeWorker(m('w'), 'left');
    expect(scheduler.keyLimits.running('k')).toBe(0);
  });

  it('lifting or raising a limit offers the waiting tasks at once', () => {
    const { scheduler, schedule, started } = setup(4);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 1 });
    for (let i = 1; i <= 3; i++) schedule(`k${i}`, 'k');
    expect(started()).toEqual(['k1']);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 2 });
    expect(started()).toEqual(['k2']);
    expect(scheduler.keyLimits.remove({ key: 'k' })).toBe(true);
    expect(scheduler.keyLimits.remove({ key: 'k' })).toBe(false);
    expect(started()).toEqual(['k3']);
  });

  it('counts restored running tasks until their worker re-attaches them or the grace ends', () => {
    const scheduler = new Scheduler({ maxPayloadBytes: 64 });
    const running = (seq: number, member: string): TaskRecord =>
      taskRecord({ seq, status: 'running', attempt: 1, memberId: m(member), concurrencyKey: 'k' });
    scheduler.restore([
      running(1, 'w1'),
      running(2, 'w2'),
      taskRecord({ seq: 3, concurrencyKey: 'k' }),
    ]);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 2 });
    scheduler.upsertWorker(m('w1'), 4, new Set(['default']));
    scheduler.setEligible(m('w1'), true);
    expect(scheduler.assign(0).starts).toEqual([]);
    expect(scheduler.keyLimits.running('k')).toBe(2);
    scheduler.reconcile(m('w1'), [{ taskId: t('t1'), attempt: 1 }], false);
    expect(scheduler.keyLimits.running('k')).toBe(2);
    expect(scheduler.assign(0).starts).toEqual([]);
    // w2 never came back: t2 is requeued (at the head) and only then does the key free up.
    scheduler.requeueUnclaimed(0);
    expect(scheduler.keyLimits.running('k')).toBe(1);
    expect(scheduler.assign(0).starts.map((s) => s.taskId)).toEqual(['t2']);
  });

  it('holds under random schedules, finishes, cancels and worker losses (fake clock)', () => {
    const random = seededRandom(18);
    const scheduler = new Scheduler({ maxPayloadBytes: 64 });
    const keys = ['a', 'b', 'c', 'd'];
    const limits: Record<string, number> = { a: 1, b: 2, c: 3, d: 1 };
    for (const key of keys) scheduler.keyLimits.set({ key }, { ...none, maxRunning: limits[key] });
    const members = ['w1', 'w2', 'w3'];
    const join = (id: string) => {
      scheduler.upsertWorker(m(id), 3, new Set(['default']));
      scheduler.setEligible(m(id), true);
    };
    members.forEach(join);
    let next = 0;
    let maxSeen = 0;
    for (let step = 0; step < 5000; step++) {
      const roll = random();
      if (roll < 0.4) {
        const key = keys[Math.floor(random() * keys.length)];
        scheduler.schedule(step, { id: `r${next++}`, payload: 'p', concurrencyKey: key });
      } else if (roll < 0.85) {
        const member = members[Math.floor(random() * members.length)]!;
        const running = scheduler.runningOn(m(member));
        const id = running[Math.floor(random() * running.length)];
        if (id !== undefined) {
          const task = scheduler.get(id);
          scheduler.complete(step, { taskId: id, attempt: task.attempt, memberId: m(member) });
        }
      } else if (roll < 0.95) {
        const id = t(`r${Math.floor(random() * next)}`);
        try {
          scheduler.cancel(step, id);
        } catch {
          // finished already
        }
      } else {
        const member = members[Math.floor(random() * members.length)]!;
        scheduler.removeWorker(m(member), 'lost');
        join(member);
      }
      scheduler.assign(step);
      for (const key of keys) {
        const onSlots = members
          .flatMap((id) => scheduler.runningOn(m(id)))
          .filter((id) => scheduler.get(id).concurrencyKey === key).length;
        expect(onSlots).toBeLessThanOrEqual(limits[key]!);
        maxSeen = Math.max(maxSeen, onSlots);
      }
    }
    expect(maxSeen).toBeGreaterThan(1);
  });
});

describe('rate limits per key', () => {
  it('spaces starts evenly (burst 1) and starts the next on time from the due timer', () => {
    const { clock, scheduler, schedule, started } = setup(10);
    scheduler.keyLimits.set(
      { key: 'api' },
      { maxRunning: undefined, rate: { count: 2, intervalMs: 1000, burst: 1 } },
    );
    for (let i = 1; i <= 4; i++) schedule(`a${i}`, 'api');
    expect(started()).toEqual(['a1']);
    expect(scheduler.waitingReason(scheduler.get(t('a2')))).toBe('rate api 2/1s');
    const t0 = clock.nowMs();
    expect(scheduler.nextDueAtMs()).toBe(t0 + 500);
    clock.advance(499);
    expect(scheduler.promoteDue(clock.nowMs()).reopenedKeys).toBe(0);
    expect(started()).toEqual([]);
    clock.advance(1);
    expect(scheduler.promoteDue(clock.nowMs()).reopenedKeys).toBe(1);
    expect(started()).toEqual(['a2']);
    expect(scheduler.nextDueAtMs()).toBe(t0 + 1000);
  });

  it('lets a burst through after a quiet spell, then holds to the rate', () => {
    const { clock, scheduler, schedule, started } = setup(10);
    scheduler.keyLimits.set(
      { key: 'api' },
      { maxRunning: undefined, rate: { count: 3, intervalMs: 60_000, burst: 3 } },
    );
    for (let i = 1; i <= 5; i++) schedule(`a${i}`, 'api');
    expect(started()).toEqual(['a1', 'a2', 'a3']);
    expect(scheduler.nextDueAtMs()).toBe(clock.nowMs() + 20_000);
    clock.advance(20_000);
    scheduler.promoteDue(clock.nowMs());
    expect(started()).toEqual(['a4']);
  });

  it('a rate-limited key blocks no other key', () => {
    const { scheduler, schedule, started } = setup(10);
    scheduler.keyLimits.set(
      { key: 'api' },
      { maxRunning: undefined, rate: { count: 1, intervalMs: 1000, burst: 1 } },
    );
    schedule('a1', 'api');
    schedule('a2', 'api');
    schedule('b1', 'other');
    expect(started()).toEqual(['a1', 'b1']);
  });
});

describe('pausing a key', () => {
  it('starts nothing of the key until resumed; others go on', () => {
    const { scheduler, schedule, started } = setup(10);
    expect(scheduler.keyLimits.pauseKey('k')).toBe(true);
    expect(scheduler.keyLimits.pauseKey('k')).toBe(false);
    schedule('k1', 'k');
    schedule('o1', 'o');
    expect(started()).toEqual(['o1']);
    expect(scheduler.waitingReason(scheduler.get(t('k1')))).toBe('paused: key k');
    expect(scheduler.keyLimits.resumeKey('k')).toBe(true);
    expect(started()).toEqual(['k1']);
  });
});

describe('concurrency keys on new tasks', () => {
  it('refuses a key that is not one, saying what a key may be', () => {
    const { scheduler } = setup();
    expect(() =>
      scheduler.schedule(0, { id: 'x', payload: 'p', concurrencyKey: 'tenant/42' }),
    ).toThrow(/concurrency key "tenant\/42" is not valid: use 1-128 letters/);
    expect(() => scheduler.get(t('x'))).toThrow(/not found/);
  });
});

describe('a lost worker and its keyed tasks', () => {
  it("holds a dead worker's keyed places until its fence time, unless it re-attaches first", () => {
    const { scheduler, schedule, started, clock } = setup(4);
    scheduler.upsertWorker(m('v'), 4, new Set(['default']));
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 1 });
    schedule('k1', 'k');
    schedule('k2', 'k');
    expect(started()).toEqual(['k1']);
    const holdUntilMs = clock.nowMs() + 3_000;
    scheduler.removeWorker(m('w'), 'lost', holdUntilMs);
    scheduler.setEligible(m('v'), true);
    // k1 is back in the queue, but w may still run it until its fence: nothing of k starts.
    expect(scheduler.keyLimits.running('k')).toBe(1);
    expect(started()).toEqual([]);
    expect(scheduler.waitingReason(scheduler.get(t('k1')))).toBe('concurrency k 1/1');
    expect(scheduler.nextDueAtMs()).toBe(holdUntilMs);
    clock.advance(3_000);
    expect(scheduler.promoteDue(clock.nowMs()).reopenedKeys).toBe(1);
    expect(started()).toEqual(['k1']);
  });

  it('a re-attach by the same worker ends the hold: its slot counts instead', () => {
    const { scheduler, schedule, started, clock } = setup(4);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 1 });
    schedule('k1', 'k');
    expect(started()).toEqual(['k1']);
    scheduler.removeWorker(m('w'), 'lost', clock.nowMs() + 3_000);
    scheduler.upsertWorker(m('w'), 4, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    scheduler.reconcile(m('w'), [{ taskId: t('k1'), attempt: 1 }], false);
    expect(scheduler.keyLimits.running('k')).toBe(1);
    expect(scheduler.get(t('k1')).status).toBe('running');
    expect(scheduler.nextDueAtMs()).toBeUndefined();
  });

  it('a worker that left holds nothing', () => {
    const { scheduler, schedule, started } = setup(4);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 1 });
    schedule('k1', 'k');
    expect(started()).toEqual(['k1']);
    scheduler.removeWorker(m('w'), 'left');
    expect(scheduler.keyLimits.running('k')).toBe(0);
  });
});

describe("a key's own limit and its kind's default", () => {
  it("replaces the kind's default as a whole: a key with only a rate is not held to the kind's max", () => {
    const { scheduler, schedule, started } = setup(10, ['mail']);
    scheduler.keyLimits.set({ kind: 'mail' }, { maxRunning: 1, rate: undefined });
    scheduler.keyLimits.set(
      { key: 'vip' },
      { maxRunning: undefined, rate: { count: 100, intervalMs: 1000, burst: 3 } },
    );
    for (let i = 1; i <= 3; i++) schedule(`v${i}`, 'vip', 'mail');
    for (let i = 1; i <= 2; i++) schedule(`o${i}`, 'other', 'mail');
    expect(started().sort()).toEqual(['o1', 'v1', 'v2', 'v3']);
  });
});

describe('lost holds end when their worker reports', () => {
  it("after a restart, a fenced worker's report frees the key at once, not at the grace end", () => {
    const scheduler = new Scheduler({ maxPayloadBytes: 64 });
    const running = (seq: number): TaskRecord =>
      taskRecord({ seq, status: 'running', attempt: 1, memberId: m('w'), concurrencyKey: 'k' });
    scheduler.restore([running(1), running(2), taskRecord({ seq: 3, concurrencyKey: 'k' })]);
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 2 });
    scheduler.upsertWorker(m('w'), 4, new Set(['default']));
    scheduler.setEligible(m('w'), true);
    // The worker comes back having stopped both (its fence) and reports them, running none.
    scheduler.reconcile(m('w'), [], false);
    expect(scheduler.keyLimits.running('k')).toBe(2);
    for (const id of ['t1', 't2']) {
      scheduler.complete(0, {
        taskId: t(id),
        attempt: 1,
        memberId: m('w'),
        error: 'stopped: fenced',
      });
    }
    expect(scheduler.keyLimits.running('k')).toBe(0);
    // t1 and t2 wait out their retry backoff; t3 starts at once.
    expect(scheduler.assign(0).starts.map((s) => s.taskId)).toEqual(['t3']);
  });

  it("counts two lost attempts of one task (two lost workers) until each ends, and ignores others' word", () => {
    const { scheduler, schedule, started, clock } = setup(4);
    scheduler.upsertWorker(m('v'), 4, new Set(['default']));
    scheduler.keyLimits.set({ key: 'k' }, { ...none, maxRunning: 3 });
    schedule('k1', 'k');
    expect(started()).toEqual(['k1']); // attempt 1 on w
    scheduler.removeWorker(m('w'), 'lost', clock.nowMs() + 5_000);
    scheduler.setEligible(m('v'), true);
    expect(started()).toEqual(['k1']); // attempt 2 on v
    scheduler.removeWorker(m('v'), 'lost', clock.nowMs() + 5_000);
    expect(scheduler.keyLimits.running('k')).toBe(2);
    // A report of attempt 1 from a member that did not run it frees nothing.
    scheduler.keyLimits.claimed(t('k1'), 1, m('v'));
    expect(scheduler.keyLimits.running('k')).toBe(2);
    scheduler.keyLimits.claimed(t('k1'), 1, m('w'));
    expect(scheduler.keyLimits.running('k')).toBe(1);
  });
});

describe('rate buckets of many keys', () => {
  it('forgets buckets that are full again once there are many (a key per tenant)', async () => {
    const { KeyLimits } = await import('../../../src/scheduler/key-limits.js');
    const limits = new KeyLimits({
      heldByKey: () => 0,
      refreshKey: () => {},
      refreshAllKeys: () => {},
    });
    limits.set(
      { kind: 'mail' },
      { maxRunning: undefined, rate: { count: 10, intervalMs: 1000, burst: 10 } },
    );
    for (let i = 0; i < 25_000; i++) limits.started('mail', `tenant-${i}`, 0);
    expect(limits.rateBucketCount).toBe(25_000);
    // A second later every one of those is full again; new tenants' buckets sweep them.
    for (let i = 0; i < 10_000; i++) limits.started('mail', `late-${i}`, 1_000);
    expect(limits.rateBucketCount).toBeLessThan(25_000);
    // A bucket swept and made again starts full: the rate still holds for its key.
    limits.started('mail', 'tenant-1', 1_000);
    expect(limits.holdOf('mail', 'tenant-1')).toBeUndefined();
  });
});
