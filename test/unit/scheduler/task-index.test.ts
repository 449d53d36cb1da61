import { describe, expect, it } from 'vitest';
import { MAX_LIST_SCAN, TaskIndex } from '../../../src/scheduler/task-index.js';
import { InvalidTaskTransitionError, type TaskStatus } from '../../../src/scheduler/task.js';
import { NotFoundError } from '../../../src/shared/errors.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { taskRecord } from '../../helpers/task-record.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/** An index holding new pending tasks t1..tN (seqs 1..N), created at the clock's time. */
function setup(count = 0, overrides: Parameters<typeof taskRecord>[0] = {}) {
  const clock = new FakeClock();
  const index = new TaskIndex();
  const tasks = Array.from({ length: count }, () => {
    const task = taskRecord({ seq: index.nextSeq(), createdAtMs: clock.nowMs(), ...overrides });
    index.add(task);
    return task;
  });
  return { clock, index, tasks };
}

const ids = (tasks: readonly { id: string }[]) => tasks.map((task) => task.id);
const listed = (index: TaskIndex, status?: TaskStatus) =>
  ids(index.list({ status, pageSize: 1_000 }).tasks);

/** Starts a task as the scheduler does: start time first, then the status. */
function start(index: TaskIndex, task: ReturnType<typeof taskRecord>, nowMs: number): void {
  task.startedAtMs = nowMs;
  task.attempt++;
  task.memberId = m('a');
  index.setStatus(task, 'running');
}

describe('TaskIndex: adding and looking up', () => {
  it('files a new task under its id, seq and status', () => {
    const { index } = setup(2);
    expect(index.size).toBe(2);
    expect(index.has(t('t1'))).toBe(true);
    expect(index.get(t('t2'))?.seq).toBe(2);
    expect(index.require(t('t1')).id).toBe('t1');
    expect(listed(index)).toEqual(['t1', 't2']);
    expect(listed(index, 'pending')).toEqual(['t1', 't2']);
    expect(listed(index, 'running')).toEqual([]);
  });

  it('answers for an unknown id: undefined, false, or NotFoundError', () => {
    const { index } = setup(1);
    expect(index.get(t('nope'))).toBeUndefined();
    expect(index.has(t('nope'))).toBe(false);
    expect(() => index.require(t('nope'))).toThrow(new NotFoundError('task nope not found'));
  });

  it('refuses a new task that is not pending, or whose id is held, changing nothing', () => {
    const { index } = setup(1);
    expect(() => index.add(taskRecord({ seq: 5, status: 'running' }))).toThrow(/pending/);
    expect(() => index.add(taskRecord({ seq: 6, id: t('t1') }))).toThrow(/already indexed/);
    expect(index.size).toBe(1);
    expect(listed(index)).toEqual(['t1']);
  });

  it('hands out increasing seqs, past any seq added', () => {
    const index = new TaskIndex();
    expect(index.nextSeq()).toBe(1);
    index.add(taskRecord({ seq: 10 }));
    expect(index.nextSeq()).toBe(11);
  });
});

describe('TaskIndex.setStatus', () => {
  it('moves a task between the per-status indexes, keeping creation order', () => {
    const { clock, index, tasks } = setup(3);
    start(index, tasks[2]!, clock.nowMs());
    start(index, tasks[0]!, clock.nowMs());
    expect(listed(index, 'running')).toEqual(['t1', 't3']);
    expect(listed(index, 'pending')).toEqual(['t2']);
    expect(ids(index.running())).toEqual(['t1', 't3']);
    index.setStatus(tasks[0]!, 'completed');
    expect(listed(index, 'completed')).toEqual(['t1']);
    expect(listed(index, 'running')).toEqual(['t3']);
    expect(listed(index)).toEqual(['t1', 't2', 't3']);
  });

  it('refuses a change the transition table does not allow, and changes nothing', () => {
    const { clock, index, tasks } = setup(1);
    const task = tasks[0]!;
    start(index, task, clock.nowMs());
    index.setStatus(task, 'cancelled');
    expect(() => index.setStatus(task, 'running')).toThrow(InvalidTaskTransitionError);
    expect(() => index.setStatus(task, 'pending')).toThrow(InvalidTaskTransitionError);
    expect(task.status).toBe('cancelled');
    expect(listed(index, 'cancelled')).toEqual(['t1']);
    expect(listed(index, 'running')).toEqual([]);
    expect(listed(index, 'pending')).toEqual([]);
    expect(index.finishedCount).toBe(1);
  });

  it('staying in a status is allowed and files nothing twice', () => {
    const { index, tasks } = setup(1);
    index.setStatus(tasks[0]!, 'pending');
    expect(listed(index, 'pending')).toEqual(['t1']);
    index.setStatus(tasks[0]!, 'error');
    index.setStatus(tasks[0]!, 'error');
    expect(index.finishedCount).toBe(1);
  });
});

describe('TaskIndex: finish order and dropping', () => {
  it('keeps finished tasks in the order they finished, not the order they were made', () => {
    const { index, tasks } = setup(3);
    index.setStatus(tasks[2]!, 'cancelled');
    index.setStatus(tasks[0]!, 'error');
    expect(index.finishedCount).toBe(2);
    expect(ids([...index.finishedOldestFirst()])).toEqual(['t3', 't1']);
  });

  it('drops a finished task from every index, even while walking the finish order', () => {
    const { index, tasks } = setup(3);
    for (const task of tasks) index.setStatus(task, 'cancelled');
    for (const task of index.finishedOldestFirst()) if (task.id !== 't2') index.drop(task);
    expect(index.size).toBe(1);
    expect(index.finishedCount).toBe(1);
    expect(index.has(t('t1'))).toBe(false);
    expect(listed(index)).toEqual(['t2']);
    expect(listed(index, 'cancelled')).toEqual(['t2']);
  });

  it('refuses to drop a task that is not finished', () => {
    const { index, tasks } = setup(1);
    expect(() => index.drop(tasks[0]!)).toThrow(/not finished/);
    expect(index.has(t('t1'))).toBe(true);
  });
});

describe('TaskIndex: deadlines', () => {
  it('finds a running task at its deadline exactly, not a millisecond before', () => {
    const { clock, index, tasks } = setup(1, { timeoutMs: 1_000 });
    start(index, tasks[0]!, clock.nowMs());
    clock.advance(999);
    expect(index.pastDeadline(clock.nowMs())).toEqual([]);
    clock.advance(1);
    expect(ids(index.pastDeadline(clock.nowMs()))).toEqual(['t1']);
    // Still filed until it leaves `running`.
    expect(ids(index.pastDeadline(clock.nowMs()))).toEqual(['t1']);
    index.setStatus(tasks[0]!, 'pending');
    expect(index.pastDeadline(clock.nowMs())).toEqual([]);
  });

  it('orders deadlines earliest first, ties by age, and files none for no timeout', () => {
    const { clock, index, tasks } = setup(4, { timeoutMs: 100 });
    const noLimit = taskRecord({ seq: index.nextSeq(), timeoutMs: 0 });
    index.add(noLimit);
    start(index, noLimit, clock.nowMs());
    start(index, tasks[3]!, clock.nowMs());
    clock.advance(10);
    start(index, tasks[0]!, clock.nowMs());
    clock.advance(10);
    start(index, tasks[2]!, clock.nowMs() - 20); // same deadline as t4, created earlier
    clock.advance(1_000);
    expect(ids(index.pastDeadline(clock.nowMs()))).toEqual(['t3', 't4', 't1']);
  });

  it('stops watching a deadline once the task finishes', () => {
    const { clock, index, tasks } = setup(1, { timeoutMs: 5 });
    start(index, tasks[0]!, clock.nowMs());
    index.setStatus(tasks[0]!, 'completed');
    clock.advance(10);
    expect(index.pastDeadline(clock.nowMs())).toEqual([]);
  });
});

describe('TaskIndex: retry waits', () => {
  it('hands a waiting task back at its retry time exactly, with the wait cleared', () => {
    const { clock, index, tasks } = setup(1);
    index.delay(tasks[0]!, clock.nowMs() + 100);
    expect(tasks[0]!.retryAtMs).toBe(clock.nowMs() + 100);
    expect(index.delayedCount).toBe(1);
    clock.advance(99);
    expect(index.takeDue(clock.nowMs())).toEqual([]);
    clock.advance(1);
    expect(ids(index.takeDue(clock.nowMs()))).toEqual(['t1']);
    expect(tasks[0]!.retryAtMs).toBeUndefined();
    expect(index.delayedCount).toBe(0);
    expect(index.takeDue(clock.nowMs())).toEqual([]);
  });

  it('hands back due tasks by retry time, ties by age, and keeps the rest waiting', () => {
    const { clock, index, tasks } = setup(3);
    index.delay(tasks[2]!, clock.nowMs() + 5);
    index.delay(tasks[1]!, clock.nowMs() + 10);
    index.delay(tasks[0]!, clock.nowMs() + 10);
    clock.advance(10);
    index.delay(taskRecord({ seq: 9 }), clock.nowMs() + 1);
    expect(ids(index.takeDue(clock.nowMs()))).toEqual(['t3', 't1', 't2']);
    expect(index.delayedCount).toBe(1);
  });

  it('takes a task out of its wait; says false for one that was not waiting', () => {
    const { clock, index, tasks } = setup(2);
    index.delay(tasks[0]!, clock.nowMs() + 10);
    expect(index.undelay(tasks[1]!)).toBe(false);
    expect(index.undelay(tasks[0]!)).toBe(true);
    expect(tasks[0]!.retryAtMs).toBeUndefined();
    expect(index.undelay(tasks[0]!)).toBe(false);
    clock.advance(10);
    expect(index.takeDue(clock.nowMs())).toEqual([]);
  });

  it('refuses to delay a task that is not pending', () => {
    const { clock, index, tasks } = setup(1);
    start(index, tasks[0]!, clock.nowMs());
    expect(() => index.delay(tasks[0]!, clock.nowMs() + 1)).toThrow(/pending/);
    expect(index.delayedCount).toBe(0);
    expect(tasks[0]!.retryAtMs).toBeUndefined();
  });
});

describe('TaskIndex.restore', () => {
  it('files stored records with their waits, deadlines and finish order', () => {
    const clock = new FakeClock();
    const now = clock.nowMs();
    const index = new TaskIndex();
    const { kept, ignored } = index.restore([
      taskRecord({ seq: 1, status: 'completed', finishedAtMs: now - 5 }),
      taskRecord({ seq: 2, status: 'running', timeoutMs: 50, startedAtMs: now, attempt: 1 }),
      taskRecord({ seq: 3, status: 'pending', retryAtMs: now + 20, attempt: 1 }),
      taskRecord({ seq: 4, status: 'error', finishedAtMs: now - 9 }),
      taskRecord({ seq: 5, status: 'cancelled', finishedAtMs: now - 5 }),
      taskRecord({ seq: 6 }),
    ]);
    expect(ignored).toEqual([]);
    expect(kept).toHaveLength(6);
    expect(listed(index)).toEqual(['t1', 't2', 't3', 't4', 't5', 't6']);
    expect(listed(index, 'pending')).toEqual(['t3', 't6']);
    // By finish time, then by seq.
    expect(ids([...index.finishedOldestFirst()])).toEqual(['t4', 't1', 't5']);
    expect(index.delayedCount).toBe(1);
    clock.advance(20);
    expect(ids(index.takeDue(clock.nowMs()))).toEqual(['t3']);
    expect(index.pastDeadline(clock.nowMs())).toEqual([]);
    clock.advance(30);
    expect(ids(index.pastDeadline(clock.nowMs()))).toEqual(['t2']);
    expect(index.nextSeq()).toBe(7);
  });

  it('keeps only the newest row (highest seq) of a repeated id, whatever the input order', () => {
    const index = new TaskIndex();
    const newest = taskRecord({ seq: 7, id: t('dup'), payload: 'newest' });
    const stale = taskRecord({ seq: 3, id: t('dup') });
    const other = taskRecord({ seq: 5 });
    // Whatever the input order, the higher seq wins.
    const { kept, ignored } = index.restore([newest, other, stale]);
    expect(ignored).toEqual([stale]);
    expect(ids(kept).sort()).toEqual(['dup', 't5']);
    expect(index.require(t('dup'))).toBe(newest);
    expect(index.nextSeq()).toBe(8);

    const again = new TaskIndex();
    again.restore([taskRecord({ seq: 9, id: t('x') }), taskRecord({ seq: 2, id: t('x') })]);
    expect(again.size).toBe(1);
    expect(again.nextSeq()).toBe(10);
  });

  it('refuses to restore into an index that holds tasks', () => {
    const { index } = setup(1);
    expect(() => index.restore([])).toThrow(/empty/);
  });
});

describe('TaskIndex.list', () => {
  it('pages by creation order from afterSeq, with a member and a status filter', () => {
    const { clock, index, tasks } = setup(5);
    start(index, tasks[1]!, clock.nowMs());
    start(index, tasks[3]!, clock.nowMs());
    tasks[3]!.memberId = m('b');
    const first = index.list({ pageSize: 2 });
    expect(ids(first.tasks)).toEqual(['t1', 't2']);
    expect(first.nextAfterSeq).toBe(2);
    const rest = index.list({ pageSize: 10, afterSeq: first.nextAfterSeq });
    expect(ids(rest.tasks)).toEqual(['t3', 't4', 't5']);
    expect(rest.nextAfterSeq).toBeUndefined();
    expect(ids(index.list({ pageSize: 10, memberId: m('b') }).tasks)).toEqual(['t4']);
    expect(ids(index.list({ pageSize: 10, status: 'running', afterSeq: 2 }).tasks)).toEqual(['t4']);
  });

  it('ends a page before a task that would pass maxBytes (at least one task), both ways', () => {
    // 1,000 characters estimate as 3,000 bytes plus 512 for the rest: two fit in 8,000.
    const { index } = setup(5, { payload: 'x'.repeat(1_000) });
    const seen: string[][] = [];
    for (const newestFirst of [false, true]) {
      let afterSeq: number | undefined;
      // Bounded: five tasks, at least one a page.
      for (let page = 0; page < 5; page++) {
        const got = index.list({ pageSize: 10, maxBytes: 8_000, afterSeq, newestFirst });
        seen.push(ids(got.tasks));
        afterSeq = got.nextAfterSeq;
        if (afterSeq === undefined) break;
      }
    }
    expect(seen).toEqual([['t1', 't2'], ['t3', 't4'], ['t5'], ['t5', 't4'], ['t3', 't2'], ['t1']]);
    // A task bigger than the bound alone still makes a page.
    expect(ids(index.list({ pageSize: 10, maxBytes: 100 }).tasks)).toEqual(['t1']);
  });

  it('examines at most MAX_LIST_SCAN records per call, and says where to go on', () => {
    const { index } = setup(MAX_LIST_SCAN + 2);
    const page = index.list({ pageSize: 10, memberId: m('nobody') });
    expect(page.tasks).toEqual([]);
    expect(page.nextAfterSeq).toBe(MAX_LIST_SCAN);
    const next = index.list({ pageSize: 10, memberId: m('nobody'), afterSeq: page.nextAfterSeq });
    expect(next).toEqual({ tasks: [], nextAfterSeq: undefined });
  });
  it('pages newest first, every task exactly once, with the kind and status filters', () => {
    const { clock, index, tasks } = setup(7);
    start(index, tasks[5]!, clock.nowMs());
    const seen: string[] = [];
    let afterSeq: number | undefined;
    // Bounded: seven tasks in pages of three.
    for (let call = 0; call < 5; call++) {
      const page = index.list({ pageSize: 3, newestFirst: true, afterSeq });
      seen.push(...ids(page.tasks));
      afterSeq = page.nextAfterSeq;
      if (afterSeq === undefined) break;
    }
    expect(seen).toEqual(['t7', 't6', 't5', 't4', 't3', 't2', 't1']);
    const running = index.list({ pageSize: 10, newestFirst: true, status: 'running' });
    expect(ids(running.tasks)).toEqual(['t6']);
  });

  it('filters by kind while walking, in both orders', () => {
    const { index } = setup(0);
    for (const kind of ['a', 'b', 'a']) index.add(taskRecord({ seq: index.nextSeq(), kind }));
    expect(ids(index.list({ pageSize: 10, kind: 'a' }).tasks)).toEqual(['t1', 't3']);
    expect(ids(index.list({ pageSize: 10, kind: 'a', newestFirst: true }).tasks)).toEqual([
      't3',
      't1',
    ]);
    expect(index.list({ pageSize: 10, kind: 'c' }).tasks).toEqual([]);
  });

  it('examines at most MAX_LIST_SCAN records newest first too, and goes on from there', () => {
    const { index } = setup(MAX_LIST_SCAN + 2);
    const page = index.list({ pageSize: 10, memberId: m('nobody'), newestFirst: true });
    expect(page.tasks).toEqual([]);
    expect(page.nextAfterSeq).toBe(3);
    const next = index.list({ pageSize: 10, newestFirst: true, afterSeq: page.nextAfterSeq });
    expect(ids(next.tasks)).toEqual(['t2', 't1']);
    expect(next.nextAfterSeq).toBeUndefined();
  });
});
