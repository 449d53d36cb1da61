import { seededRandom } from '../../helpers/seeded-random.js';
import { describe, expect, it } from 'vitest';
import { MAX_LIST_SCAN, Scheduler } from '../../../src/scheduler/scheduler.js';
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StaleError,
  TooLargeError,
} from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { taskRecord } from '../../helpers/task-record.js';
import { DEFAULT_TASK_POLICY } from '../../../src/scheduler/retry-policy.js';

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
    expect(scheduler.list({ pageSize: 100 }).tasks.map((task) => task.id)).toEqual(['a']);
    expect(scheduler.pendingCount).toBe(1);
  });

  it('schedules a batch all or nothing', () => {
    const { scheduler, clock } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'a', payload: 'x' },
        { id: 'a', payload: 'y' },
      ]),
    ).toThrow('tasks[1]: task a is tasks[0] too');
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

describe('Scheduler.waitingReason', () => {
  it('says when a task waits for a target member that is not there or takes no work', () => {
    const { scheduler, schedule } = setup({ busy: 0 });
    expect(scheduler.waitingReason(schedule('a', { targetMemberId: 'gone' }))).toBe(
      'target: member gone is not connected',
    );
    scheduler.setEligible(m('busy'), false);
    expect(scheduler.waitingReason(schedule('b', { targetMemberId: 'busy' }))).toBe(
      'target: member busy takes no new work (draining, or not heard from)',
    );
    // Eligible with every slot taken: it waits for a slot, which is no reason to report.
    scheduler.setEligible(m('busy'), true);
    expect(scheduler.waitingReason(scheduler.get(t('b')))).toBeUndefined();
    // There and free, but not running the task's kind: it would wait for ever, unexplained.
    expect(scheduler.waitingReason(schedule('c', { targetMemberId: 'busy', kind: 'resize' }))).toBe(
      'target: member busy does not run kind resize',
    );
  });

  it('says until when a task waits out its retry backoff', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('flaky', { retryBackoffMs: 4_000 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), {
      taskId: t('flaky'),
      attempt: 1,
      memberId: m('a'),
      error: 'boom',
    });
    expect(scheduler.waitingReason(scheduler.get(t('flaky')))).toBe(
      `retry backoff: attempt 1 failed, next one not before ${new Date(clock.nowMs() + 4_000).toISOString()}`,
    );
  });

  it('says when no worker that takes new work runs the kind: none joined, all draining, or gone', () => {
    const { scheduler, schedule } = setup();
    const none =
      'no worker: none that takes new work (alive, not draining or quarantined) runs kind default';
    expect(scheduler.waitingReason(schedule('a'))).toBe(none);
    scheduler.upsertWorker(m('w'), 1, new Set(['default']));
    // Joined, not yet eligible (no heartbeat heard): still none.
    expect(scheduler.waitingReason(scheduler.get(t('a')))).toBe(none);
    scheduler.setEligible(m('w'), true);
    expect(scheduler.waitingReason(scheduler.get(t('a')))).toBeUndefined();
    // Draining: it takes no new work.
    scheduler.setEligible(m('w'), false);
    expect(scheduler.waitingReason(scheduler.get(t('a')))).toBe(none);
    // Back, but rejoined with other kinds only; then gone altogether.
    scheduler.setEligible(m('w'), true);
    scheduler.upsertWorker(m('w'), 1, new Set(['mail']));
    expect(scheduler.waitingReason(scheduler.get(t('a')))).toBe(none);
    expect(scheduler.waitingReason(schedule('m', { kind: 'mail' }))).toBeUndefined();
    scheduler.removeWorker(m('w'), 'left');
    expect(scheduler.waitingReason(scheduler.get(t('m')))).toBe(
      'no worker: none that takes new work (alive, not draining or quarantined) runs kind mail',
    );
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

  it('accepts a manual completion of the current attempt and stops the worker, keeping its slot until it reports', () => {
    const { scheduler, clock, schedule } = running();
    const { task, stop } = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 0,
      error: 'boom',
    });
    expect(task).toMatchObject({ status: 'error', error: 'boom', attempt: 1 });
    expect(stop).toEqual({
      memberId: 'a',
      taskId: 't',
      attempt: 1,
      reason: 'completed by an operator',
    });
    expect(scheduler.runningOn(m('a'))).toEqual(['t']);
    // The worker's own report later changes nothing but frees the slot.
    const late = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'late',
    });
    expect(late.changed).toEqual([]);
    expect(late.task.result).toBeUndefined();
    expect(scheduler.runningOn(m('a'))).toEqual([]);
    schedule('next');
    expect(scheduler.assign(clock.nowMs()).starts).toHaveLength(1);
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
    const { changed } = scheduler.removeWorker(m('a'), 'was lost');
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
    scheduler.removeWorker(m('a'), 'was lost');
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
    scheduler.removeWorker(m('a'), 'was lost');
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
    const first = scheduler.list({ pageSize: 2 }).tasks;
    expect(first.map((task) => task.id)).toEqual(['t1', 't2']);
    const second = scheduler.list({ pageSize: 2, afterSeq: first.at(-1)!.seq }).tasks;
    expect(second.map((task) => task.id)).toEqual(['t3', 't4']);
    expect(
      scheduler.list({ pageSize: 10, status: 'running' }).tasks.map((task) => task.id),
    ).toEqual(['t1']);
    expect(scheduler.list({ pageSize: 10, status: 'pending' }).tasks).toHaveLength(4);
    expect(scheduler.list({ pageSize: 10, memberId: m('a') }).tasks.map((task) => task.id)).toEqual(
      ['t1'],
    );
  });
});

/** Adds an eligible worker. */
function addWorker(scheduler: Scheduler, id: string, slots: number, kinds = ['default']): void {
  scheduler.upsertWorker(m(id), slots, new Set(kinds));
  scheduler.setEligible(m(id), true);
}

/** Runs tasks one at a time on `worker` (which must be the only ready one) and returns their order. */
function runOneByOne(scheduler: Scheduler, clock: FakeClock, worker: string): string[] {
  const order: string[] = [];
  for (let i = 0; i < 10_000; i++) {
    const { starts } = scheduler.assign(clock.nowMs());
    if (starts.length === 0) return order;
    expect(starts).toHaveLength(1);
    const start = starts[0]!;
    expect(start.memberId).toBe(worker);
    order.push(start.taskId);
    scheduler.complete(clock.nowMs(), {
      taskId: start.taskId,
      attempt: start.attempt,
      memberId: m(worker),
    });
  }
  throw new Error('runOneByOne did not finish within 10000 rounds');
}

describe('Scheduler.schedule validation, in detail', () => {
  it.each([
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\nb'],
    ['a no-break space', 'x\u00a0y'],
    ['a line separator', 'x\u2028'],
    ['a control character', 'ctl\u0001'],
    ['DEL', 'del\u007f'],
    ['257 characters', 'x'.repeat(257)],
    ['nothing', ''],
  ])('refuses an id with %s and changes nothing', (_what, id) => {
    const { scheduler, clock } = setup({ a: 1 });
    expect(() => scheduler.schedule(clock.nowMs(), { id, payload: 'x' })).toThrow(
      InvalidArgumentError,
    );
    expect(scheduler.list({ pageSize: 10 }).tasks).toEqual([]);
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('accepts a 256-character id and non-ASCII ids', () => {
    const { schedule } = setup();
    expect(schedule('x'.repeat(256)).id).toHaveLength(256);
    expect(schedule('tâche-€-😀').id).toBe('tâche-€-😀');
  });

  it.each([
    ['16 ASCII bytes', 'x'.repeat(16)],
    ['8 two-byte characters', 'é'.repeat(8)],
    ['4 four-byte characters', '😀'.repeat(4)],
    ['5 three-byte characters and one byte', '€'.repeat(5) + 'x'],
  ])('accepts a payload of exactly the byte limit: %s', (_what, payload) => {
    const { scheduler, clock } = setup();
    expect(scheduler.schedule(clock.nowMs(), { id: 'p', payload }).task.payload).toBe(payload);
  });

  it.each([
    ['17 ASCII bytes', 'x'.repeat(17), 17],
    ['9 characters, 17 bytes', 'é'.repeat(8) + 'x', 17],
    ['6 characters, 22 bytes', '😀'.repeat(4) + '€€', 22],
    ['6 lone surrogates', '\ud800'.repeat(6), 18],
  ])('refuses a payload over the byte limit: %s', (_what, payload, bytes) => {
    const { scheduler, clock } = setup();
    expect(() => scheduler.schedule(clock.nowMs(), { id: 'p', payload })).toThrow(
      new TooLargeError(`task payload is ${bytes} bytes; the limit is 16`),
    );
    expect(scheduler.pendingCount).toBe(0);
  });

  it('refuses an empty payload but not a blank one', () => {
    const { scheduler, clock } = setup();
    expect(() => scheduler.schedule(clock.nowMs(), { id: 'e', payload: '' })).toThrow(
      new InvalidArgumentError('task payload must not be empty'),
    );
    expect(scheduler.schedule(clock.nowMs(), { id: 'b', payload: ' ' }).task.payload).toBe(' ');
  });

  it.each(['bad kind', ' ', '.hidden', '-x', 'é', 'k'.repeat(65), 'a/b', 'a\u0000'])(
    'refuses the kind %j',
    (kind) => {
      const { scheduler, clock } = setup();
      expect(() => scheduler.schedule(clock.nowMs(), { id: 'k', payload: 'x', kind })).toThrow(
        InvalidArgumentError,
      );
      expect(scheduler.pendingCount).toBe(0);
    },
  );

  it.each(['image', 'k'.repeat(64), 'img:v2_x-y.z', '0'])('accepts the kind %j', (kind) => {
    const { schedule } = setup();
    expect(schedule('k', { kind }).kind).toBe(kind);
  });

  it('fills in defaults: kind "default", priority medium, no target', () => {
    const { scheduler, clock } = setup();
    clock.advance(42);
    const { task, changed } = scheduler.schedule(clock.nowMs(), {
      id: 'd',
      payload: 'x',
      kind: '',
      targetMemberId: '',
    });
    // The builder fills in the rest: never started, no member, result, error or retry.
    expect(task).toEqual(
      taskRecord({
        id: t('d'),
        seq: 1,
        queueSeq: 1,
        kind: 'default',
        payload: 'x',
        priority: 'medium',
        targetMemberId: undefined,
        maxAttempts: DEFAULT_TASK_POLICY.maxAttempts,
        retryBackoffMs: DEFAULT_TASK_POLICY.retryBackoffMs,
        timeoutMs: DEFAULT_TASK_POLICY.timeoutMs,
        status: 'pending',
        attempt: 0,
        createdAtMs: clock.nowMs(),
      }),
    );
    expect(changed).toEqual([task]);
    expect(scheduler.get(t('d'))).toBe(task);
  });

  it('refuses a target id over 256 characters', () => {
    const { scheduler, clock } = setup();
    expect(() =>
      scheduler.schedule(clock.nowMs(), { id: 'x', payload: 'x', targetMemberId: 'm'.repeat(257) }),
    ).toThrow(InvalidArgumentError);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('refuses a duplicate of a finished task and leaves the original as it was', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('dup');
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), {
      taskId: t('dup'),
      attempt: 1,
      memberId: m('a'),
      result: 'r',
    });
    const before = structuredClone(scheduler.get(t('dup')));
    clock.advance(1);
    expect(() =>
      scheduler.schedule(clock.nowMs(), { id: 'dup', payload: 'other', priority: 'high' }),
    ).toThrow(new ConflictError('task dup already exists'));
    expect(scheduler.get(t('dup'))).toEqual(before);
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.list({ pageSize: 10 }).tasks).toHaveLength(1);
  });

  it('names the offending index in a batch, and none for a single task', () => {
    const { scheduler, clock } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'ok', payload: 'x' },
        { id: 'bad', payload: '' },
      ]),
    ).toThrow(new InvalidArgumentError('tasks[1]: task payload must not be empty'));
    expect(() => scheduler.scheduleMany(clock.nowMs(), [{ id: 'bad', payload: '' }])).toThrow(
      new InvalidArgumentError('task payload must not be empty'),
    );
    expect(scheduler.pendingCount).toBe(0);
    expect(scheduler.scheduleMany(clock.nowMs(), [])).toEqual({
      tasks: [],
      changed: [],
      existing: [],
    });
  });

  it('does not burn sequence numbers on a refused batch', () => {
    const { scheduler, clock, schedule } = setup();
    expect(() =>
      scheduler.scheduleMany(clock.nowMs(), [
        { id: 'x', payload: 'x' },
        { id: 'x', payload: 'x' },
      ]),
    ).toThrow(ConflictError);
    expect(schedule('first')).toMatchObject({ seq: 1, queueSeq: 1 });
  });
});

describe('Scheduler.assign, in detail', () => {
  it('runs many mixed-priority tasks in exact priority-then-FIFO order', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    const random = seededRandom(7);
    const priorities = ['high', 'medium', 'low'] as const;
    const byPriority: Record<string, string[]> = { high: [], medium: [], low: [] };
    // Schedule while nothing is assigned, so every task is queued before the first start.
    scheduler.setEligible(m('a'), false);
    for (let i = 0; i < 300; i++) {
      const priority = priorities[Math.floor(random() * 3)]!;
      schedule(`t${i}`, { priority });
      byPriority[priority]!.push(`t${i}`);
    }
    scheduler.setEligible(m('a'), true);
    expect(runOneByOne(scheduler, clock, 'a')).toEqual([
      ...byPriority.high!,
      ...byPriority.medium!,
      ...byPriority.low!,
    ]);
  });

  it('a task scheduled later at a higher priority overtakes waiting ones', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('m1');
    schedule('m2');
    scheduler.assign(clock.nowMs()); // m1 runs
    schedule('h1', { priority: 'high' });
    scheduler.complete(clock.nowMs(), { taskId: t('m1'), attempt: 1, memberId: m('a') });
    expect(runOneByOne(scheduler, clock, 'a')).toEqual(['h1', 'm2']);
  });

  it('records the start on the task and in the start order', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('s', { kind: 'default', payload: 'body' });
    clock.advance(7);
    const { starts, changed } = scheduler.assign(clock.nowMs());
    expect(starts).toEqual([
      {
        memberId: 'a',
        taskId: 's',
        attempt: 1,
        kind: 'default',
        payload: 'body',
        priority: 'medium',
      },
    ]);
    expect(changed).toEqual([scheduler.get(t('s'))]);
    expect(scheduler.get(t('s'))).toMatchObject({
      status: 'running',
      attempt: 1,
      memberId: 'a',
      startedAtMs: clock.nowMs(),
      finishedAtMs: undefined,
    });
    expect(scheduler.runningOn(m('a'))).toEqual(['s']);
    expect(scheduler.pendingCount).toBe(0);
  });

  it('gives a worker only kinds it has', () => {
    const { scheduler, clock, schedule } = setup({ plain: 2 });
    addWorker(scheduler, 'img', 2, ['image']);
    schedule('i1', { kind: 'image' });
    schedule('d1');
    schedule('i2', { kind: 'image' });
    schedule('v1', { kind: 'video' });
    schedule('d2');
    const starts = scheduler.assign(clock.nowMs()).starts.map((s) => [s.taskId, s.memberId]);
    expect(starts.sort()).toEqual([
      ['d1', 'plain'],
      ['d2', 'plain'],
      ['i1', 'img'],
      ['i2', 'img'],
    ]);
    expect(scheduler.get(t('v1')).status).toBe('pending');
  });

  it('a worker that can take nothing does not stop the others', () => {
    const { scheduler, clock, schedule } = setup({ a: 4 });
    addWorker(scheduler, 'b', 2, ['image']);
    addWorker(scheduler, 'c', 2, ['image']);
    for (let i = 0; i < 5; i++) schedule(`i${i}`, { kind: 'image' });
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.memberId])).toEqual([
      ['i0', 'b'],
      ['i1', 'c'],
      ['i2', 'b'],
      ['i3', 'c'],
    ]);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
  });

  it('gives a targeted task only to its target, even when others are idle', () => {
    const { scheduler, clock, schedule } = setup({ a: 2, b: 1 });
    schedule('for-b-1', { targetMemberId: 'b' });
    schedule('for-b-2', { targetMemberId: 'b' });
    schedule('for-ghost', { targetMemberId: 'ghost', priority: 'high' });
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => [s.taskId, s.memberId])).toEqual([['for-b-1', 'b']]);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
    expect(scheduler.pendingCount).toBe(2);
  });

  it('orders a member’s targeted and untargeted tasks by priority, then by when they were queued', () => {
    const { scheduler, clock, schedule } = setup({ b: 1 });
    schedule('any-1');
    schedule('b-1', { targetMemberId: 'b' });
    schedule('any-low', { priority: 'low' });
    schedule('b-high', { targetMemberId: 'b', priority: 'high' });
    schedule('any-2');
    schedule('b-low', { targetMemberId: 'b', priority: 'low' });
    expect(runOneByOne(scheduler, clock, 'b')).toEqual([
      'b-high',
      'any-1',
      'b-1',
      'any-2',
      'any-low',
      'b-low',
    ]);
  });

  it('fills uneven slot counts exactly, round-robin while each has room', () => {
    const { scheduler, clock, schedule } = setup({ a: 1, b: 3, c: 2 });
    for (let i = 0; i < 8; i++) schedule(`t${i}`);
    const { starts } = scheduler.assign(clock.nowMs());
    expect(starts.map((s) => `${s.taskId}@${s.memberId}`)).toEqual([
      't0@a',
      't1@b',
      't2@c',
      't3@b',
      't4@c',
      't5@b',
    ]);
    expect(scheduler.pendingCount).toBe(2);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('never starts more than a worker’s slots, and follows a change of slots on rejoin', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    for (let i = 0; i < 6; i++) schedule(`t${i}`);
    expect(scheduler.assign(clock.nowMs()).starts).toHaveLength(2);
    scheduler.upsertWorker(m('a'), 1, new Set(['default']));
    scheduler.complete(clock.nowMs(), { taskId: t('t0'), attempt: 1, memberId: m('a') });
    // One task still holds the only slot.
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    scheduler.upsertWorker(m('a'), 4, new Set(['default']));
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['t2', 't3', 't4']);
    expect(scheduler.runningOn(m('a'))).toHaveLength(4);
  });

  it('starts a new worker ineligible, and keeps an ineligible worker’s running tasks', () => {
    const { scheduler, clock, schedule } = setup();
    scheduler.upsertWorker(m('a'), 2, new Set(['default']));
    schedule('x');
    schedule('y');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    scheduler.setEligible(m('a'), true);
    expect(scheduler.assign(clock.nowMs()).starts).toHaveLength(2);
    scheduler.setEligible(m('a'), false);
    expect(scheduler.runningOn(m('a'))).toEqual(['x', 'y']);
    expect(scheduler.get(t('x')).status).toBe('running');
    schedule('z');
    scheduler.complete(clock.nowMs(), { taskId: t('x'), attempt: 1, memberId: m('a') });
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('ignores setEligible for an unknown worker', () => {
    const { scheduler, clock, schedule } = setup();
    scheduler.setEligible(m('ghost'), true);
    schedule('x');
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    expect(scheduler.runningOn(m('ghost'))).toEqual([]);
  });

  it('does nothing with no tasks or no workers', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    expect(scheduler.assign(clock.nowMs())).toEqual({ starts: [], changed: [] });
    scheduler.removeWorker(m('a'), 'was lost');
    schedule('x');
    expect(scheduler.assign(clock.nowMs())).toEqual({ starts: [], changed: [] });
  });
});

describe('Scheduler.complete, in detail', () => {
  it('refuses the old attempt once the task was requeued and reassigned; nothing changes', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    addWorker(scheduler, 'b', 1);
    expect(scheduler.assign(clock.nowMs()).starts[0]).toMatchObject({ memberId: 'b', attempt: 2 });
    const before = structuredClone(scheduler.get(t('t')));
    clock.advance(3);
    expect(() =>
      scheduler.complete(clock.nowMs(), {
        taskId: t('t'),
        attempt: 1,
        memberId: m('a'),
        result: 'late',
      }),
    ).toThrow(new StaleError('attempt 1 of task t is no longer current (current attempt: 2)'));
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 2, memberId: m('a') }),
    ).toThrow(new StaleError('attempt 2 of task t belongs to member b, not a'));
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 3 })).toThrow(
      StaleError,
    );
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: -1 })).toThrow(
      StaleError,
    );
    expect(scheduler.get(t('t'))).toEqual(before);
    expect(scheduler.runningOn(m('b'))).toEqual(['t']);
    // The current attempt still completes.
    expect(
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 2, memberId: m('b') }).task
        .status,
    ).toBe('completed');
  });

  it('keeps a result its lost member reports before anyone else took the task', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    expect(scheduler.pendingCount).toBe(1);
    const { task, changed } = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'done anyway',
    });
    expect(task).toMatchObject({ status: 'completed', result: 'done anyway', attempt: 1 });
    expect(changed).toEqual([task]);
    expect(scheduler.pendingCount).toBe(0);
    addWorker(scheduler, 'b', 1);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
  });

  it('refuses a manual completion of a requeued (pending) task and changes nothing', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    const before = structuredClone(scheduler.get(t('t')));
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 0 })).toThrow(
      new StaleError('task t is pending; only a running task can be completed'),
    );
    expect(() => scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 1 })).toThrow(
      StaleError,
    );
    expect(scheduler.get(t('t'))).toEqual(before);
    expect(scheduler.pendingCount).toBe(1);
  });

  it('records an error report on the last attempt as status error', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t', { maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    clock.advance(9);
    const { task } = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      error: 'it broke',
    });
    expect(task).toMatchObject({
      status: 'error',
      error: 'it broke',
      result: undefined,
      finishedAtMs: clock.nowMs(),
    });
    expect(scheduler.runningOn(m('a'))).toEqual([]);
  });

  it("ignores a worker's second report of the same attempt; an operator's other outcome is refused", () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t', { maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 1, memberId: m('a'), error: 'e' });
    const before = structuredClone(scheduler.get(t('t')));
    schedule('next');
    scheduler.assign(clock.nowMs());
    clock.advance(100);
    for (const report of [{ error: 'e' }, { memberId: m('a'), result: 'x' }]) {
      const { changed, task } = scheduler.complete(clock.nowMs(), {
        taskId: t('t'),
        attempt: 1,
        ...report,
      });
      expect(changed).toEqual([]);
      expect(task).toEqual(before);
    }
    for (const report of [{ result: 'ok' }, { error: 'again' }, { attempt: 0 }]) {
      expect(() =>
        scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 1, ...report }),
      ).toThrow(/already failed with error "e"; this completion .* is not recorded/);
      expect(scheduler.get(t('t'))).toEqual(before);
    }
    // The duplicate did not free the slot that `next` now holds.
    expect(scheduler.runningOn(m('a'))).toEqual(['next']);
  });

  it('accepts a manual completion with a result, then refuses a later worker report only if stale', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t');
    scheduler.assign(clock.nowMs());
    const manual = scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 0, result: 'm' });
    expect(manual.task).toMatchObject({ status: 'completed', result: 'm', memberId: 'a' });
    expect(manual.changed).toEqual([manual.task]);
    const before = structuredClone(manual.task);
    // The worker's own report of that attempt is a duplicate: accepted, nothing changes.
    const late = scheduler.complete(clock.nowMs(), {
      taskId: t('t'),
      attempt: 1,
      memberId: m('a'),
      result: 'w',
    });
    expect(late.changed).toEqual([]);
    expect(scheduler.get(t('t'))).toEqual(before);
  });
});

describe('Scheduler.cancel, in detail', () => {
  it('refuses an unknown task', () => {
    const { scheduler, clock } = setup();
    expect(() => scheduler.cancel(clock.nowMs(), t('nope'))).toThrow(
      new NotFoundError('task nope not found'),
    );
  });

  it('refuses to cancel a failed task and leaves it as it was', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('f', { maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('f'), attempt: 1, memberId: m('a'), error: 'x' });
    const before = structuredClone(scheduler.get(t('f')));
    clock.advance(1);
    expect(() => scheduler.cancel(clock.nowMs(), t('f'))).toThrow(
      new StaleError('task f has already finished (error); nothing to cancel'),
    );
    expect(scheduler.get(t('f'))).toEqual(before);
  });

  it('a second cancel changes nothing, not even the finish time', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    const first = scheduler.cancel(clock.nowMs(), t('r'));
    expect(first.task.finishedAtMs).toBe(clock.nowMs());
    const before = structuredClone(first.task);
    clock.advance(50);
    const second = scheduler.cancel(clock.nowMs(), t('r'));
    expect(second).toEqual({ task: before, changed: [] });
    expect(second.stop).toBeUndefined();
    expect(scheduler.runningOn(m('a'))).toEqual(['r']);
  });

  it('keeps a cancelled task cancelled when its worker reports a result', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    scheduler.cancel(clock.nowMs(), t('r'));
    const before = structuredClone(scheduler.get(t('r')));
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('r'), attempt: 1, memberId: m('b') }),
    ).toThrow(StaleError);
    expect(scheduler.runningOn(m('a'))).toEqual(['r']);
    scheduler.complete(clock.nowMs(), {
      taskId: t('r'),
      attempt: 1,
      memberId: m('a'),
      result: 'finished first',
    });
    expect(scheduler.get(t('r'))).toEqual(before);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
  });

  it('does not requeue a cancelled task when its worker is lost', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('c');
    schedule('r');
    scheduler.assign(clock.nowMs());
    scheduler.cancel(clock.nowMs(), t('c'));
    const { changed } = scheduler.removeWorker(m('a'), 'was lost');
    expect(changed.map((task) => task.id)).toEqual(['r']);
    expect(scheduler.get(t('c')).status).toBe('cancelled');
    expect(scheduler.pendingCount).toBe(1);
  });

  it('cancels a requeued task without a stop, and stops it when its worker comes back', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('q');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    const { task, stop } = scheduler.cancel(clock.nowMs(), t('q'));
    expect(task).toMatchObject({ status: 'cancelled', attempt: 1, memberId: 'a' });
    expect(stop).toBeUndefined();
    expect(scheduler.pendingCount).toBe(0);
    addWorker(scheduler, 'a', 1);
    // Later heartbeats do not repeat the stop; the first one on a new stream does.
    expect(scheduler.reconcile(m('a'), [{ taskId: t('q'), attempt: 1 }], false)).toEqual({
      changed: [],
      stops: [],
    });
    expect(scheduler.reconcile(m('a'), [{ taskId: t('q'), attempt: 1 }], true)).toEqual({
      changed: [],
      stops: [{ memberId: 'a', taskId: 'q', attempt: 1, reason: 'cancelled' }],
    });
  });
});

describe('Scheduler.removeWorker, in detail', () => {
  it('does nothing for an unknown worker', () => {
    const { scheduler } = setup();
    expect(scheduler.removeWorker(m('ghost'), 'was lost')).toEqual({ changed: [] });
  });

  it('requeues at the head of each task’s own priority, keeping attempt and member', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('m1');
    schedule('l1', { priority: 'low' });
    scheduler.assign(clock.nowMs());
    schedule('h1', { priority: 'high' });
    schedule('m2');
    schedule('l2', { priority: 'low' });
    const { changed } = scheduler.removeWorker(m('a'), 'was lost');
    const lost = changed.map((task) => [task.id, task.status, task.attempt, task.memberId]);
    expect(lost.sort()).toEqual([
      ['l1', 'pending', 1, 'a'],
      ['m1', 'pending', 1, 'a'],
    ]);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
    addWorker(scheduler, 'b', 1);
    expect(runOneByOne(scheduler, clock, 'b')).toEqual(['h1', 'm1', 'm2', 'l1', 'l2']);
    expect(scheduler.get(t('m1')).attempt).toBe(2);
    expect(scheduler.get(t('m2')).attempt).toBe(1);
  });

  it('requeues many lost tasks in their original order, ahead of everything waiting', () => {
    const { scheduler, clock, schedule } = setup({ a: 20 });
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    for (const id of ids) schedule(id);
    scheduler.assign(clock.nowMs());
    for (let i = 0; i < 5; i++) schedule(`w${i}`);
    // Finish a few in the middle so the lost set has gaps.
    for (const id of ['r3', 'r10', 'r19']) {
      scheduler.complete(clock.nowMs(), { taskId: t(id), attempt: 1, memberId: m('a') });
    }
    scheduler.removeWorker(m('a'), 'was lost');
    addWorker(scheduler, 'b', 1);
    const lost = ids.filter((id) => !['r3', 'r10', 'r19'].includes(id));
    expect(runOneByOne(scheduler, clock, 'b')).toEqual([...lost, 'w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('keeps the order of a task requeued twice relative to the others it was lost with', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t1');
    scheduler.assign(clock.nowMs()); // t1 on a
    schedule('t2');
    scheduler.removeWorker(m('a'), 'was lost'); // t1 back at the head: t1, t2
    addWorker(scheduler, 'b', 2);
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual(['t1', 't2']);
    schedule('t3');
    scheduler.removeWorker(m('b'), 'was lost');
    addWorker(scheduler, 'c', 1);
    expect(runOneByOne(scheduler, clock, 'c')).toEqual(['t1', 't2', 't3']);
    expect(scheduler.get(t('t1')).attempt).toBe(3);
  });

  it('frees nothing that belongs to other workers', () => {
    const { scheduler, clock, schedule } = setup({ a: 1, b: 1 });
    schedule('on-a');
    schedule('on-b');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    expect(scheduler.runningOn(m('b'))).toEqual(['on-b']);
    expect(scheduler.get(t('on-b')).status).toBe('running');
  });
});

describe('Scheduler.reconcile, in detail', () => {
  it('leaves alone an attempt the worker holds', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    const before = structuredClone(scheduler.get(t('r')));
    expect(scheduler.reconcile(m('a'), [{ taskId: t('r'), attempt: 1 }], true)).toEqual({
      changed: [],
      stops: [],
    });
    expect(scheduler.get(t('r'))).toEqual(before);
  });

  it('re-attaches only as many requeued attempts as the worker has slots; stops the rest', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('x');
    schedule('y');
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    scheduler.upsertWorker(m('a'), 1, new Set(['default']));
    const { changed, stops } = scheduler.reconcile(
      m('a'),
      [
        { taskId: t('x'), attempt: 1 },
        { taskId: t('y'), attempt: 1 },
      ],
      true,
    );
    expect(changed.map((task) => task.id)).toEqual(['x']);
    expect(stops).toEqual([
      {
        memberId: 'a',
        taskId: 'y',
        attempt: 1,
        reason: 'task y is pending and no longer runs on a',
      },
    ]);
    expect(scheduler.get(t('y')).status).toBe('pending');
    expect(scheduler.pendingCount).toBe(1);
    // The re-attached attempt is not started again elsewhere, and completes normally.
    addWorker(scheduler, 'b', 2);
    expect(scheduler.assign(clock.nowMs()).starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['y', 2],
    ]);
    expect(
      scheduler.complete(clock.nowMs(), { taskId: t('x'), attempt: 1, memberId: m('a') }).task
        .status,
    ).toBe('completed');
    expect(scheduler.runningOn(m('a'))).toEqual([]);
  });

  it('stops an attempt of a finished task', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('d');
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('d'), attempt: 1, memberId: m('a') });
    expect(scheduler.reconcile(m('a'), [{ taskId: t('d'), attempt: 1 }], false).stops).toEqual([
      {
        memberId: 'a',
        taskId: 'd',
        attempt: 1,
        reason: 'task d is completed and no longer runs on a',
      },
    ]);
  });

  it('stops everything a worker the scheduler does not know says it runs', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    const { changed, stops } = scheduler.reconcile(
      m('ghost'),
      [
        { taskId: t('r'), attempt: 1 },
        { taskId: t('zzz'), attempt: 4 },
      ],
      false,
    );
    expect(changed).toEqual([]);
    expect(stops.map((s) => [s.memberId, s.taskId, s.attempt])).toEqual([
      ['ghost', 'r', 1],
      ['ghost', 'zzz', 4],
    ]);
    expect(scheduler.get(t('r')).status).toBe('running');
  });

  it('stops a wrong attempt number of a task the worker runs', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('r');
    scheduler.assign(clock.nowMs());
    const { stops } = scheduler.reconcile(m('a'), [{ taskId: t('r'), attempt: 2 }], false);
    expect(stops).toEqual([
      {
        memberId: 'a',
        taskId: 'r',
        attempt: 2,
        reason: 'attempt 2 of task r is not assigned to a',
      },
    ]);
    expect(scheduler.runningOn(m('a'))).toEqual(['r']);
  });
});

describe('Scheduler.list, in detail', () => {
  it('pages through filters without skipping or repeating', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    for (let i = 1; i <= 9; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1, t2 running on a
    scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') });
    scheduler.cancel(clock.nowMs(), t('t5'));
    const pages: string[][] = [];
    let afterSeq: number | undefined;
    for (let i = 0; i < 10; i++) {
      const page = scheduler.list({ pageSize: 2, status: 'pending', afterSeq });
      pages.push(page.tasks.map((task) => task.id));
      afterSeq = page.nextAfterSeq;
      if (afterSeq === undefined) break;
    }
    // A full last page has no token: no empty page to fetch after it.
    expect(pages).toEqual([
      ['t3', 't4'],
      ['t6', 't7'],
      ['t8', 't9'],
    ]);
  });

  it('examines a bounded number of records per call and says where to go on', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    const total = MAX_LIST_SCAN * 2 + 5;
    for (let i = 1; i <= total; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1 runs on a
    scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') });
    scheduler.assign(clock.nowMs()); // t2 runs on a
    // Only t1 and t2 match; the rest is a long run of pending tasks for other members.
    const first = scheduler.list({ pageSize: 10, memberId: m('a') });
    expect(first.tasks.map((task) => task.id)).toEqual(['t1', 't2']);
    expect(first.nextAfterSeq).toBe(MAX_LIST_SCAN);
    const second = scheduler.list({ pageSize: 10, memberId: m('a'), afterSeq: first.nextAfterSeq });
    expect(second.tasks).toEqual([]);
    expect(second.nextAfterSeq).toBe(MAX_LIST_SCAN * 2);
    const last = scheduler.list({ pageSize: 10, memberId: m('a'), afterSeq: second.nextAfterSeq });
    expect(last).toEqual({ tasks: [], nextAfterSeq: undefined });
    // A status filter goes straight to that status's tasks, however many others there are.
    expect(scheduler.list({ pageSize: 10, status: 'completed' }).tasks.map((x) => x.id)).toEqual([
      't1',
    ]);
  });

  it('keeps the status indexes equal to a scan through random changes', () => {
    const random = seededRandom(7);
    const { scheduler, clock, schedule } = setup({ a: 2, b: 3 });
    const statuses = ['pending', 'running', 'completed', 'error', 'cancelled'] as const;
    let next = 0;
    for (let step = 0; step < 2_000; step++) {
      const roll = random();
      const all = scheduler.list({ pageSize: 1_000_000 }).tasks;
      if (roll < 0.35 || all.length === 0) {
        schedule(`t${++next}`);
      } else if (roll < 0.55) {
        scheduler.assign(clock.nowMs());
      } else if (roll < 0.75) {
        const running = all.filter((task) => task.status === 'running');
        const task = running[Math.floor(random() * running.length)];
        if (task) {
          scheduler.complete(clock.nowMs(), {
            taskId: task.id,
            attempt: task.attempt,
            memberId: task.memberId,
            error: random() < 0.3 ? 'boom' : undefined,
          });
        }
      } else if (roll < 0.85) {
        const open = all.filter((task) => task.status === 'pending' || task.status === 'running');
        const task = open[Math.floor(random() * open.length)];
        if (task) scheduler.cancel(clock.nowMs(), task.id);
      } else if (roll < 0.95) {
        const worker = random() < 0.5 ? 'a' : 'b';
        scheduler.removeWorker(m(worker), 'was lost');
        scheduler.upsertWorker(m(worker), worker === 'a' ? 2 : 3, new Set(['default']));
        scheduler.setEligible(m(worker), true);
      } else {
        clock.advance(1);
      }
      const after = scheduler.list({ pageSize: 1_000_000 }).tasks;
      for (const status of statuses) {
        const indexed = scheduler.list({ pageSize: 1_000_000, status }).tasks;
        expect(indexed).toEqual(after.filter((task) => task.status === status));
      }
    }
  });

  it('filters by member over tasks it runs or last ran, and combines filters', () => {
    const { scheduler, clock, schedule } = setup({ a: 2, b: 1 });
    for (let i = 1; i <= 4; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1@a, t2@b, t3@a
    scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') });
    const ids = (query: Parameters<Scheduler['list']>[0]) =>
      scheduler.list(query).tasks.map((task) => task.id);
    expect(ids({ pageSize: 10, memberId: m('a') })).toEqual(['t1', 't3']);
    expect(ids({ pageSize: 10, memberId: m('a'), status: 'running' })).toEqual(['t3']);
    expect(ids({ pageSize: 10, memberId: m('b'), status: 'completed' })).toEqual([]);
    expect(ids({ pageSize: 10, memberId: m('nobody') })).toEqual([]);
    expect(ids({ pageSize: 10, status: 'cancelled' })).toEqual([]);
    expect(ids({ pageSize: 1, memberId: m('a'), afterSeq: 1 })).toEqual(['t3']);
  });

  it('lists in creation order whatever the queue order, and nothing past the end', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('low', { priority: 'low' });
    schedule('high', { priority: 'high' });
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost');
    expect(scheduler.list({ pageSize: 10 }).tasks.map((task) => task.id)).toEqual(['low', 'high']);
    expect(scheduler.list({ pageSize: 10, afterSeq: 2 }).tasks).toEqual([]);
    expect(scheduler.list({ pageSize: 10, afterSeq: 1_000 }).tasks).toEqual([]);
  });
});

/** What decides whether a worker may take a task. */
type TaskRecordLike = Pick<ReturnType<Scheduler['get']>, 'kind' | 'targetMemberId'>;

describe('Scheduler invariants over a long random run', () => {
  it('never overfills a slot, loses a task, or leaves a takeable task next to a free slot', () => {
    const random = seededRandom(99);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const clock = new FakeClock();
    // Failures retry at once, so a pending task is always one a free slot could take.
    const scheduler = new Scheduler({
      maxPayloadBytes: 64,
      policy: { maxAttempts: 1_000, retryBackoffMs: 0, retryBackoffMaxMs: 0, timeoutMs: 0 },
    });
    const specs: Record<string, { slots: number; kinds: string[] }> = {
      w1: { slots: 2, kinds: ['default'] },
      w2: { slots: 3, kinds: ['default', 'image'] },
      w3: { slots: 1, kinds: ['image'] },
    };
    const present = new Set<string>();
    const eligible = new Set<string>();
    const ids: TaskId[] = [];
    let next = 0;

    const join = (id: string) => {
      const s = specs[id]!;
      scheduler.upsertWorker(m(id), s.slots, new Set(s.kinds));
      present.add(id);
    };
    const setEligible = (id: string, on: boolean) => {
      scheduler.setEligible(m(id), on);
      if (on && present.has(id)) eligible.add(id);
      else eligible.delete(id);
    };
    const canTake = (worker: string, task: TaskRecordLike) =>
      specs[worker]!.kinds.includes(task.kind) &&
      (task.targetMemberId === undefined || task.targetMemberId === worker);

    for (const id of Object.keys(specs)) {
      join(id);
      setEligible(id, true);
    }

    for (let step = 0; step < 5_000; step++) {
      clock.advance(1);
      const roll = random();
      if (roll < 0.3) {
        const id = `t${next++}`;
        scheduler.schedule(clock.nowMs(), {
          id,
          payload: 'p',
          priority: pick(['high', 'medium', 'low'] as const),
          kind: pick(['default', 'image']),
          targetMemberId: random() < 0.1 ? pick(['w1', 'w2', 'w3', 'w4']) : undefined,
        });
        ids.push(t(id));
      } else if (roll < 0.5) {
        const before = new Map(ids.map((id) => [id, scheduler.get(id).attempt]));
        const { starts } = scheduler.assign(clock.nowMs());
        for (const start of starts) {
          const task = scheduler.get(start.taskId);
          expect(eligible.has(start.memberId)).toBe(true);
          expect(canTake(start.memberId, task)).toBe(true);
          expect(start.attempt).toBe(before.get(start.taskId)! + 1);
        }
        // Nothing takeable may wait while an eligible worker has a free slot.
        for (const worker of eligible) {
          if (scheduler.runningOn(m(worker)).length >= specs[worker]!.slots) continue;
          const takeable = scheduler
            .list({ pageSize: 100_000, status: 'pending' })
            .tasks.filter((task) => canTake(worker, task));
          expect(takeable).toEqual([]);
        }
      } else if (roll < 0.7) {
        const holders = [...present].filter((w) => scheduler.runningOn(m(w)).length > 0);
        if (holders.length === 0) continue;
        const worker = pick(holders);
        const id = pick(scheduler.runningOn(m(worker)));
        const task = scheduler.get(id);
        scheduler.complete(clock.nowMs(), {
          taskId: id,
          attempt: task.attempt,
          memberId: m(worker),
          ...(random() < 0.5 ? { result: 'ok' } : { error: 'e' }),
        });
      } else if (roll < 0.75 && ids.length > 0) {
        const id = pick(ids);
        const before = structuredClone(scheduler.get(id));
        expect(() =>
          scheduler.complete(clock.nowMs(), { taskId: id, attempt: before.attempt + 1 }),
        ).toThrow(StaleError);
        expect(scheduler.get(id)).toEqual(before);
      } else if (roll < 0.82 && ids.length > 0) {
        const id = pick(ids);
        const status = scheduler.get(id).status;
        if (status === 'completed' || status === 'error') {
          expect(() => scheduler.cancel(clock.nowMs(), id)).toThrow(StaleError);
        } else {
          expect(scheduler.cancel(clock.nowMs(), id).task.status).toBe('cancelled');
        }
      } else if (roll < 0.86 && present.size > 0) {
        const worker = pick([...present]);
        const heldRunning = scheduler
          .runningOn(m(worker))
          .filter((id) => scheduler.get(id).status === 'running');
        const { changed } = scheduler.removeWorker(m(worker), 'was lost');
        expect(changed.map((task) => task.id).sort()).toEqual(heldRunning.sort());
        present.delete(worker);
        eligible.delete(worker);
      } else if (roll < 0.92) {
        const worker = pick(Object.keys(specs));
        if (!present.has(worker)) {
          join(worker);
          // A returning worker says what it still runs: its last attempts, some now stale.
          const claims = ids
            .map((id) => scheduler.get(id))
            .filter((task) => task.memberId === worker && random() < 0.5)
            .map((task) => ({ taskId: task.id, attempt: task.attempt }));
          scheduler.reconcile(m(worker), claims, true);
        }
        setEligible(worker, random() < 0.8);
      } else {
        setEligible(pick(Object.keys(specs)), random() < 0.7);
      }

      // Invariants after every step.
      const holders = new Map<TaskId, string>();
      for (const worker of present) {
        const running = scheduler.runningOn(m(worker));
        expect(running.length).toBeLessThanOrEqual(specs[worker]!.slots);
        for (const id of running) {
          expect(holders.has(id)).toBe(false);
          holders.set(id, worker);
          const task = scheduler.get(id);
          expect(['running', 'cancelled']).toContain(task.status);
          expect(task.memberId).toBe(worker);
        }
      }
      let pending = 0;
      for (const id of ids) {
        const task = scheduler.get(id);
        if (task.status === 'pending') pending++;
        if (task.status === 'running') expect(holders.get(id)).toBe(task.memberId);
      }
      expect(scheduler.pendingCount).toBe(pending);
    }
  });
});

describe('Scheduler.restore', () => {
  /** Copies records as a store would give them back. */
  const reload = (scheduler: Scheduler) =>
    scheduler.list({ pageSize: 1_000 }).tasks.map((task) => ({ ...task }));

  it('keeps only the newest row of an id that repeats, so a store with such rows still starts', () => {
    const { scheduler, schedule } = setup();
    schedule('x');
    schedule('y');
    const [x, y] = reload(scheduler);
    // Two ids that read back the same (lone surrogates stored as U+FFFD before ids were
    // checked as text): the newer row wins, the older is reported, nothing throws.
    const older = { ...x!, id: t('dup') };
    const newer = { ...y!, id: t('dup'), payload: 'newer' };
    const restored = new Scheduler({ maxPayloadBytes: 16 });
    expect(restored.restore([older, newer])).toEqual({ ignored: [older] });
    expect(restored.list({ pageSize: 100 }).tasks).toEqual([newer]);
    expect(restored.pendingCount).toBe(1);
    // The ignored row's seq is not reused.
    expect(restored.schedule(0, { id: 'next', payload: 'p' }).task.seq).toBe(3);
  });

  it('rebuilds the same list and queue order, with running tasks left for their members', () => {
    const { scheduler, clock, schedule } = setup({ a: 1, b: 1 });
    schedule('low', { priority: 'low' });
    for (let i = 1; i <= 4; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1@a, t2@b
    scheduler.complete(clock.nowMs(), {
      taskId: t('t1'),
      attempt: 1,
      memberId: m('a'),
      result: 'r',
    });
    scheduler.removeWorker(m('b'), 'was lost'); // t2 back to the head, attempt 1 kept
    scheduler.assign(clock.nowMs()); // t2@a (attempt 2)
    scheduler.cancel(clock.nowMs(), t('t4'));

    const restored = new Scheduler({ maxPayloadBytes: 16 });
    restored.restore(reload(scheduler));
    // The same records; a running one is taken as begun (the new leader cannot know).
    const begun = scheduler
      .list({ pageSize: 100 })
      .tasks.map((task) =>
        task.status === 'running' ? { ...task, begunAttempt: task.attempt } : task,
      );
    expect(restored.list({ pageSize: 100 }).tasks).toEqual(begun);
    expect(restored.pendingCount).toBe(2);
    // New tasks continue the sequence; the queue keeps its order (t3, new, then low).
    restored.schedule(clock.nowMs(), { id: 'new', payload: 'p' });
    expect(restored.list({ pageSize: 100 }).tasks.at(-1)!.seq).toBe(6);
    restored.upsertWorker(m('c'), 3, new Set(['default']));
    restored.setEligible(m('c'), true);
    expect(restored.assign(clock.nowMs()).starts.map((s) => s.taskId)).toEqual([
      't3',
      'new',
      'low',
    ]);
    // t2 still runs on a: nobody else was given it.
    expect(restored.get(t('t2'))).toMatchObject({ status: 'running', attempt: 2, memberId: 'a' });
  });

  it('lets a reconnecting member adopt what it still runs, and requeues the rest at the head', () => {
    const { scheduler, clock, schedule } = setup({ a: 2, b: 2 });
    for (let i = 1; i <= 5; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1@a t2@b t3@a t4@b
    const restored = new Scheduler({ maxPayloadBytes: 16 });
    restored.restore(reload(scheduler));

    // a comes back and says it runs t1 and t3: adopted, its slots are full.
    restored.upsertWorker(m('a'), 2, new Set(['default']));
    restored.setEligible(m('a'), true);
    const { changed, stops } = restored.reconcile(
      m('a'),
      [
        { taskId: t('t1'), attempt: 1 },
        { taskId: t('t3'), attempt: 1 },
      ],
      true,
    );
    expect({ changed, stops }).toEqual({ changed: [], stops: [] });
    expect(restored.runningOn(m('a')).sort()).toEqual(['t1', 't3']);
    expect(restored.assign(clock.nowMs()).starts).toEqual([]);

    // b never comes back: t2 and t4 go to the head, in order, attempts kept.
    const requeued = restored.requeueUnclaimed(clock.nowMs()).changed.map((task) => task.id);
    expect(requeued.sort()).toEqual(['t2', 't4']);
    restored.upsertWorker(m('c'), 3, new Set(['default']));
    restored.setEligible(m('c'), true);
    const starts = restored.assign(clock.nowMs()).starts;
    expect(starts.map((s) => [s.taskId, s.attempt])).toEqual([
      ['t2', 2],
      ['t4', 2],
      ['t5', 1],
    ]);
    // b's late report of attempt 1 is refused.
    expect(() =>
      restored.complete(clock.nowMs(), { taskId: t('t2'), attempt: 1, memberId: m('b') }),
    ).toThrow(StaleError);
  });

  it('refuses to restore over a list that is not empty', () => {
    const { scheduler, schedule } = setup();
    schedule('a');
    expect(() => scheduler.restore([])).toThrow(/empty scheduler/);
  });
});

describe('Scheduler.prune', () => {
  it('drops the oldest-finished beyond the count or the age, never open tasks', () => {
    const { scheduler, clock, schedule } = setup({ a: 3 });
    for (let i = 1; i <= 6; i++) schedule(`t${i}`, { maxAttempts: 1 });
    scheduler.assign(clock.nowMs()); // t1 t2 t3 run on a
    // Finish in the order t2, t1 (completed, error), then cancel pending t5.
    clock.advance(10);
    scheduler.complete(clock.nowMs(), { taskId: t('t2'), attempt: 1, memberId: m('a') });
    clock.advance(10);
    scheduler.complete(clock.nowMs(), {
      taskId: t('t1'),
      attempt: 1,
      memberId: m('a'),
      error: 'x',
    });
    clock.advance(10);
    scheduler.cancel(clock.nowMs(), t('t5'));
    expect(scheduler.finishedCount).toBe(3);

    const far = clock.nowMs() - 1_000_000;
    expect(
      scheduler.prune({ keep: 1, finishedBeforeMs: far, limit: 100 }).map((t) => t.id),
    ).toEqual(['t2', 't1']);
    expect(scheduler.list({ pageSize: 10 }).tasks.map((x) => x.id)).toEqual([
      't3',
      't4',
      't5',
      't6',
    ]);
    expect(() => scheduler.get(t('t2'))).toThrow(NotFoundError);
    // By age: t5 finished at now; anything finished before now + 1 goes, open tasks stay.
    expect(
      scheduler
        .prune({ keep: 100, finishedBeforeMs: clock.nowMs() + 1, limit: 100 })
        .map((t) => t.id),
    ).toEqual(['t5']);
    expect(scheduler.list({ pageSize: 10, status: 'cancelled' }).tasks).toEqual([]);
    expect(scheduler.pendingCount).toBe(2);
  });

  it('keeps a cancelled task whose worker still holds its slot, and respects the limit', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    for (let i = 1; i <= 4; i++) schedule(`t${i}`);
    scheduler.assign(clock.nowMs()); // t1 on a
    scheduler.cancel(clock.nowMs(), t('t1')); // a has not confirmed the stop
    scheduler.cancel(clock.nowMs(), t('t2'));
    scheduler.cancel(clock.nowMs(), t('t3'));
    expect(scheduler.prune({ keep: 0, finishedBeforeMs: 0, limit: 1 }).map((t) => t.id)).toEqual([
      't2',
    ]);
    expect(scheduler.prune({ keep: 0, finishedBeforeMs: 0, limit: 10 }).map((t) => t.id)).toEqual([
      't3',
    ]);
    scheduler.complete(clock.nowMs(), { taskId: t('t1'), attempt: 1, memberId: m('a') });
    expect(scheduler.prune({ keep: 0, finishedBeforeMs: 0, limit: 10 }).map((t) => t.id)).toEqual([
      't1',
    ]);
  });

  it('rebuilds the finish order on restore', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('first');
    schedule('second');
    scheduler.assign(clock.nowMs());
    clock.advance(5);
    scheduler.complete(clock.nowMs(), { taskId: t('second'), attempt: 1, memberId: m('a') });
    clock.advance(5);
    scheduler.complete(clock.nowMs(), { taskId: t('first'), attempt: 1, memberId: m('a') });
    const restored = new Scheduler({ maxPayloadBytes: 16 });
    restored.restore(scheduler.list({ pageSize: 10 }).tasks.map((x) => ({ ...x })));
    expect(restored.prune({ keep: 1, finishedBeforeMs: 0, limit: 10 }).map((t) => t.id)).toEqual([
      'second',
    ]);
  });
});

describe('Scheduler retries, backoff and timeouts', () => {
  it('retries a failed attempt after its backoff, doubling, then fails with the last error kept', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t', { maxAttempts: 3, retryBackoffMs: 100 });
    const fail = (attempt: number, error: string) =>
      scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt, memberId: m('a'), error });

    scheduler.assign(clock.nowMs());
    const first = fail(1, 'e1');
    expect(first.task).toMatchObject({
      status: 'pending',
      attempt: 1,
      error: 'e1',
      attemptEnded: true,
      retryAtMs: clock.nowMs() + 100,
    });
    expect(first.changed).toEqual([first.task]);
    expect(scheduler.runningOn(m('a'))).toEqual([]);
    // Not offered before its time, even with a free slot.
    clock.advance(99);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    expect(scheduler.assign(clock.nowMs()).starts).toEqual([]);
    clock.advance(1);
    expect(scheduler.promoteDue(clock.nowMs()).changed.map((x) => x.id)).toEqual(['t']);
    expect(scheduler.get(t('t')).retryAtMs).toBeUndefined();
    expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([{ taskId: 't', attempt: 2 }]);
    expect(scheduler.get(t('t')).attemptEnded).toBe(false);

    fail(2, 'e2');
    expect(scheduler.get(t('t')).retryAtMs).toBe(clock.nowMs() + 200); // doubled
    clock.advance(200);
    scheduler.promoteDue(clock.nowMs());
    scheduler.assign(clock.nowMs());
    const last = fail(3, 'e3');
    expect(last.task).toMatchObject({
      status: 'error',
      attempt: 3,
      error: 'e3',
      finishedAtMs: clock.nowMs(),
    });
  });

  it('refuses a repeated report of a failed attempt while its retry waits, changing nothing', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t', { retryBackoffMs: 50 });
    scheduler.assign(clock.nowMs());
    const report = { taskId: t('t'), attempt: 1, memberId: m('a'), error: 'e' };
    scheduler.complete(clock.nowMs(), report);
    const before = structuredClone(scheduler.get(t('t')));
    expect(() => scheduler.complete(clock.nowMs(), { ...report, error: undefined })).toThrow(
      StaleError,
    );
    expect(scheduler.get(t('t'))).toEqual(before);
    // Nor does the worker re-attach it: that attempt is over.
    const { changed, stops } = scheduler.reconcile(m('a'), [{ taskId: t('t'), attempt: 1 }], true);
    expect(changed).toEqual([]);
    expect(stops).toHaveLength(1);
  });

  it('a retry with no backoff goes back to the head of its priority at once', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('first', { retryBackoffMs: 0 });
    schedule('second');
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), {
      taskId: t('first'),
      attempt: 1,
      memberId: m('a'),
      error: 'e',
    });
    expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([{ taskId: 'first', attempt: 2 }]);
  });

  it('a cancel takes a task out of its retry wait', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('t', { retryBackoffMs: 100 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('t'), attempt: 1, memberId: m('a'), error: 'e' });
    expect(scheduler.delayedCount).toBe(1);
    expect(scheduler.cancel(clock.nowMs(), t('t')).task).toMatchObject({
      status: 'cancelled',
      retryAtMs: undefined,
    });
    expect(scheduler.delayedCount).toBe(0);
    clock.advance(1000);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
  });

  it('a lost worker costs an attempt: requeued at once; on the last one it fails only when another would start', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('spare', { maxAttempts: 2 });
    schedule('last', { maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    clock.advance(5);
    const { changed } = scheduler.removeWorker(m('a'), 'was lost (stream closed)');
    expect(changed.map((x) => [x.id, x.status]).sort()).toEqual([
      ['last', 'pending'],
      ['spare', 'pending'],
    ]);
    expect(scheduler.get(t('last'))).toMatchObject({
      error: 'member a was lost (stream closed) during attempt 1',
      attemptEnded: false,
    });
    // Another member is free: 'spare' gets attempt 2, 'last' has none left and fails.
    scheduler.upsertWorker(m('b'), 2, new Set(['default']));
    scheduler.setEligible(m('b'), true);
    const assigned = scheduler.assign(clock.nowMs());
    expect(assigned.starts.map((x) => [x.taskId, x.attempt])).toEqual([['spare', 2]]);
    expect(scheduler.get(t('last'))).toMatchObject({
      status: 'error',
      error: 'member a was lost (stream closed) during attempt 1; no attempts left (max 1)',
      finishedAtMs: clock.nowMs(),
    });
    expect(assigned.changed.map((x) => x.id).sort()).toEqual(['last', 'spare']);
  });

  it('a task lost on its last attempt waits the grace for its worker, then fails though no worker is there', () => {
    const clock = new FakeClock();
    const scheduler = new Scheduler({ maxPayloadBytes: 16, lostAttemptGraceMs: 3_000 });
    scheduler.upsertWorker(m('a'), 2, new Set(['default']));
    scheduler.setEligible(m('a'), true);
    for (const id of ['gone', 'back']) {
      scheduler.schedule(clock.nowMs(), { id, payload: 'p', maxAttempts: 1 });
    }
    scheduler.assign(clock.nowMs());
    clock.advance(10);
    const lostAtMs = clock.nowMs();
    scheduler.removeWorker(m('a'), 'was lost (stream closed)', undefined, lostAtMs);
    const gone = scheduler.get(t('gone'));
    expect(gone).toMatchObject({ status: 'pending', retryAtMs: lostAtMs + 3_000 });
    expect(scheduler.waitingReason(gone)).toBe(
      `lost: fails at ${new Date(lostAtMs + 3_000).toISOString()} unless member a re-attaches attempt 1 (its last)`,
    );
    expect(scheduler.nextDueAtMs()).toBe(lostAtMs + 3_000);
    // a comes back within the grace with one of them still running: it runs on.
    clock.advance(1_000);
    scheduler.upsertWorker(m('a'), 2, new Set(['default']));
    scheduler.reconcile(m('a'), [{ taskId: t('back'), attempt: 1 }], true);
    expect(scheduler.get(t('back'))).toMatchObject({ status: 'running', retryAtMs: undefined });
    clock.advance(1_999);
    expect(scheduler.promoteDue(clock.nowMs()).changed).toEqual([]);
    clock.advance(1);
    expect(scheduler.promoteDue(clock.nowMs()).changed.map((x) => [x.id, x.status])).toEqual([
      ['gone', 'error'],
    ]);
    expect(scheduler.get(t('gone'))).toMatchObject({
      error: 'member a was lost (stream closed) during attempt 1; no attempts left (max 1)',
      finishedAtMs: lostAtMs + 3_000,
    });
    expect(scheduler.get(t('back')).status).toBe('running');
  });

  it('a task on its last attempt survives a brief disconnect: its worker re-attaches it', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('once', { maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    scheduler.removeWorker(m('a'), 'was lost (stream broke)');
    scheduler.upsertWorker(m('a'), 1, new Set(['default']));
    const { changed } = scheduler.reconcile(m('a'), [{ taskId: t('once'), attempt: 1 }], true);
    expect(changed.map((x) => [x.id, x.status])).toEqual([['once', 'running']]);
    expect(
      scheduler.complete(clock.nowMs(), { taskId: t('once'), attempt: 1, memberId: m('a') }).task,
    ).toMatchObject({ status: 'completed', error: undefined });
  });

  it('stops an attempt past its timeout, keeps the slot until the worker reports, then retries', () => {
    const { scheduler, clock, schedule } = setup({ a: 1, b: 1 });
    schedule('slow', { timeoutMs: 1000, retryBackoffMs: 0 });
    expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([{ memberId: 'a' }]);
    clock.advance(999);
    expect(scheduler.expire(clock.nowMs()).changed).toEqual([]);
    clock.advance(1);
    const expired = scheduler.expire(clock.nowMs());
    expect(expired.stops).toEqual([
      { memberId: 'a', taskId: 'slow', attempt: 1, reason: 'attempt 1 timed out after 1000 ms' },
    ]);
    expect(expired.failures).toMatchObject([{ memberId: 'a' }]);
    expect(scheduler.get(t('slow'))).toMatchObject({
      status: 'pending',
      attempt: 1,
      attemptEnded: true,
      error: 'attempt 1 timed out after 1000 ms',
    });
    // a's slot is still taken by the attempt it was told to stop, and the retry waits for
    // it to end, though b is free: two attempts of one task never run at once.
    expect(scheduler.stoppingOn(m('a'))).toBe(1);
    schedule('other');
    expect(scheduler.assign(clock.nowMs()).starts).toMatchObject([
      { memberId: 'b', taskId: 'other' },
    ]);
    expect(scheduler.waitingReason(scheduler.get(t('slow')))).toBe(
      'stopping: attempt 1 was told to stop on member a and has not ended; the next starts once it has',
    );
    expect(scheduler.delayedCount).toBe(1);
    // a reports the stopped attempt: refused, but its slot is free again.
    expect(() =>
      scheduler.complete(clock.nowMs(), {
        taskId: t('slow'),
        attempt: 1,
        memberId: m('a'),
        error: 'aborted',
      }),
    ).toThrow(/timed out and was stopped/);
    expect(scheduler.stoppingOn(m('a'))).toBe(0);
    const retried = scheduler.assign(clock.nowMs());
    expect(retried.starts).toMatchObject([{ memberId: 'a', taskId: 'slow', attempt: 2 }]);
    expect(retried.changed.map((x) => x.id)).toContain('slow');
    expect(scheduler.get(t('slow'))).toMatchObject({ status: 'running', memberId: 'a' });
  });

  it('fails a task whose last attempt times out, and a finished task is never expired', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('once', { timeoutMs: 10, maxAttempts: 1 });
    schedule('quick', { timeoutMs: 10 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), { taskId: t('quick'), attempt: 1, memberId: m('a') });
    clock.advance(10);
    const { changed } = scheduler.expire(clock.nowMs());
    expect(changed.map((x) => [x.id, x.status])).toEqual([['once', 'error']]);
    expect(scheduler.get(t('quick')).status).toBe('completed');
    clock.advance(1000);
    expect(scheduler.expire(clock.nowMs()).changed).toEqual([]);
  });

  it('a restored scheduler keeps retry waits and deadlines', () => {
    const { scheduler, clock, schedule } = setup({ a: 2 });
    schedule('waits', { retryBackoffMs: 500 });
    schedule('runs', { timeoutMs: 300 });
    scheduler.assign(clock.nowMs());
    scheduler.complete(clock.nowMs(), {
      taskId: t('waits'),
      attempt: 1,
      memberId: m('a'),
      error: 'e',
    });
    const records = scheduler.list({ pageSize: 10 }).tasks.map((x) => structuredClone(x));
    const restored = new Scheduler({ maxPayloadBytes: 16 });
    restored.restore(records);
    expect(restored.delayedCount).toBe(1);
    expect(restored.pendingCount).toBe(0);
    clock.advance(300);
    expect(restored.expire(clock.nowMs()).changed.map((x) => x.id)).toEqual(['runs']);
    clock.advance(200);
    expect(restored.promoteDue(clock.nowMs()).changed.map((x) => x.id)).toEqual(['waits']);
  });

  it('refuses a policy out of range, naming the field', () => {
    const { scheduler, clock } = setup();
    for (const [field, value] of [
      ['maxAttempts', 1001],
      ['retryBackoffMs', -1],
      ['timeoutMs', 1.5],
    ] as const) {
      expect(() =>
        scheduler.schedule(clock.nowMs(), { id: 'x', payload: 'p', [field]: value }),
      ).toThrow(InvalidArgumentError);
    }
    expect(scheduler.list({ pageSize: 10 }).tasks).toEqual([]);
  });
});

describe('Scheduler timeouts and pruning', () => {
  it('keeps a timed-out task until its worker reports the stopped attempt, so its id is not reused early', () => {
    const { scheduler, clock, schedule } = setup({ a: 1 });
    schedule('gone', { timeoutMs: 10, maxAttempts: 1 });
    scheduler.assign(clock.nowMs());
    clock.advance(10);
    expect(scheduler.expire(clock.nowMs()).changed[0]!.status).toBe('error');
    const everything = { keep: 0, finishedBeforeMs: clock.nowMs() + 1, limit: 10 };
    expect(scheduler.prune(everything)).toEqual([]);
    expect(() => scheduler.forget(t('gone'))).toThrow(StaleError);
    expect(() =>
      scheduler.complete(clock.nowMs(), { taskId: t('gone'), attempt: 1, memberId: m('a') }),
    ).toThrow(StaleError);
    expect(scheduler.stoppingOn(m('a'))).toBe(0);
    expect(scheduler.prune(everything).map((x) => x.id)).toEqual(['gone']);
  });
});
