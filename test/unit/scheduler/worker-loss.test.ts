import { describe, expect, it } from 'vitest';
import { StopWaits } from '../../../src/scheduler/stop-waits.js';
import { TaskQueue } from '../../../src/scheduler/queue.js';
import { QueueSeqs } from '../../../src/scheduler/queue-seqs.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import { TaskIndex } from '../../../src/scheduler/task-index.js';
import {
  reconcile,
  removeWorker,
  requeueUnclaimed,
  type WorkerLossContext,
} from '../../../src/scheduler/worker-loss.js';
import { WorkerSlots } from '../../../src/scheduler/worker-slots.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { taskRecord } from '../../helpers/task-record.js';

const m = (id: string) => id as MemberId;
const t = (id: string) => id as TaskId;

/** A context with workers `a` and `b` (2 slots each) and queued tasks t1..tN. */
function setup(count: number) {
  const ctx: WorkerLossContext = {
    index: new TaskIndex(),
    queue: new TaskQueue(),
    seqs: new QueueSeqs(),
    slots: new WorkerSlots(),
    lostAttemptGraceMs: 3_000,
    keyLimits: { claimed: () => {}, holdLost: () => {} },
    stopWaits: new StopWaits(),
  };
  for (const id of ['a', 'b']) ctx.slots.upsert(m(id), 2, new Set(['default']));
  const tasks = Array.from({ length: count }, () => {
    const task = taskRecord({ seq: ctx.index.nextSeq(), queueSeq: ctx.seqs.nextTail() });
    ctx.index.add(task);
    ctx.queue.push(task);
    return task;
  });
  return { ctx, tasks };
}

/** Starts a queued task's next attempt on a member; `occupy: false` as if before a restart. */
function run(ctx: WorkerLossContext, task: TaskRecord, memberId: string, occupy = true): void {
  ctx.queue.remove(task.id);
  task.startedAtMs = 0;
  task.attempt++;
  task.memberId = m(memberId);
  ctx.index.setStatus(task, 'running');
  if (occupy) ctx.slots.occupy(m(memberId), task.id);
}

/** The first heartbeat of a stream, from a process joining for the first time. */
const FIRST = { resendStops: true, resumed: false };
/** A later heartbeat of the stream. */
const FOLLOWING = { resendStops: false, resumed: false };

describe('removeWorker', () => {
  it('requeues the lost worker’s running tasks at the head, attempts and member kept', () => {
    const { ctx, tasks } = setup(4);
    const [t1, t2, t3, t4] = tasks as [TaskRecord, TaskRecord, TaskRecord, TaskRecord];
    run(ctx, t1, 'a');
    run(ctx, t2, 'b');
    run(ctx, t3, 'a');
    const { changed } = removeWorker(ctx, m('a'), 'was lost');
    expect(changed.map((task) => task.id)).toEqual(['t3', 't1']);
    expect(t1).toMatchObject({ status: 'pending', attempt: 1, memberId: 'a' });
    expect(t1.error).toBe('member a was lost during attempt 1');
    expect(t1.queueSeq).toBeLessThan(t3.queueSeq);
    expect(t3.queueSeq).toBeLessThan(t4.queueSeq);
    expect(t2.status).toBe('running');
    expect(ctx.slots.has(m('a'))).toBe(false);
  });

  it('changes nothing for an unknown worker', () => {
    const { ctx } = setup(1);
    expect(removeWorker(ctx, m('ghost'), 'left')).toEqual({ changed: [] });
  });
});

describe('requeueUnclaimed', () => {
  it('requeues only running tasks no worker holds', () => {
    const { ctx, tasks } = setup(2);
    const [t1, t2] = tasks as [TaskRecord, TaskRecord];
    run(ctx, t1, 'a');
    run(ctx, t2, 'b', false);
    expect(requeueUnclaimed(ctx, 0).changed).toEqual([t2]);
    expect(t2.error).toBe('member b did not come back after a restart during attempt 1');
    expect(ctx.queue.has(t2.id)).toBe(true);
    expect(t1.status).toBe('running');
  });
});

describe('reconcile', () => {
  it('re-attaches a requeued attempt nobody took and adopts one it holds unknown', () => {
    const { ctx, tasks } = setup(2);
    const [t1, t2] = tasks as [TaskRecord, TaskRecord];
    run(ctx, t1, 'a');
    run(ctx, t2, 'a', false);
    removeWorker(ctx, m('a'), 'was lost');
    ctx.slots.upsert(m('a'), 2, new Set(['default']));
    const { changed, stops } = reconcile(
      ctx,
      m('a'),
      [
        { taskId: t1.id, attempt: 1 },
        { taskId: t2.id, attempt: 1 },
      ],
      FOLLOWING,
    );
    expect(changed).toEqual([t1]);
    expect(stops).toEqual([]);
    expect([t1.status, t2.status]).toEqual(['running', 'running']);
    expect(ctx.queue.size).toBe(0);
    expect(ctx.slots.runningOn(m('a')).sort()).toEqual(['t1', 't2']);
  });

  it('on a stream’s first heartbeat, requeues what was restored as running on it and it does not list', () => {
    const { ctx, tasks } = setup(4);
    const [t1, t2, t3, t4] = tasks as [TaskRecord, TaskRecord, TaskRecord, TaskRecord];
    // Restored after a restart (no slot held): t1 and t2 on a, t3 on b; t4 a's own already.
    run(ctx, t1, 'a', false);
    run(ctx, t2, 'a', false);
    run(ctx, t3, 'b', false);
    run(ctx, t4, 'a');
    const claimed: string[] = [];
    const listed = [{ taskId: t2.id, attempt: 1 }];
    const withKeys = {
      ...ctx,
      keyLimits: { ...ctx.keyLimits, claimed: (id: TaskId) => void claimed.push(id) },
    };
    // A later heartbeat of the stream (not its first) changes nothing of the sort.
    expect(reconcile(withKeys, m('a'), listed, FOLLOWING).changed).toEqual([]);
    expect(t1.status).toBe('running');
    const { changed, stops } = reconcile(withKeys, m('a'), listed, FIRST);
    expect(changed).toEqual([t1]);
    expect(stops).toEqual([]);
    expect(t1).toMatchObject({ status: 'pending', attempt: 1, memberId: 'a' });
    expect(t1.error).toBe(
      'member a did not list it when it came back after the restart during attempt 1',
    );
    expect([t2.status, t3.status, t4.status]).toEqual(['running', 'running', 'running']);
    expect(ctx.slots.runningOn(m('a')).sort()).toEqual(['t2', 't4']);
    // Its key (if any) counts it no more; t2's was claimed when re-attached.
    expect(claimed.sort()).toEqual(['t1', 't2']);
  });

  it('does not count an unlisted attempt against the task when a resumed process leaves it out: it never began there', () => {
    const { ctx, tasks } = setup(2);
    const [t1, t2] = tasks as [TaskRecord, TaskRecord];
    // Restored after a failover as running on a (no slot held): a's start orders were lost.
    run(ctx, t1, 'a', false);
    run(ctx, t2, 'a', false);
    // A restore takes running tasks as begun (restore-tasks.ts): the worker's word overrides it.
    t1.begunAttempt = t2.begunAttempt = 1;
    const budget = (task: TaskRecord) => task.attempt - task.attemptBase;
    const { changed } = reconcile(ctx, m('a'), [], { resendStops: true, resumed: true });
    expect(changed.map((task) => task.id).sort()).toEqual(['t1', 't2']);
    expect(t1).toMatchObject({ status: 'pending', attempt: 1 });
    expect(t1.error).toBe(
      'member a did not list it when it came back after the restart before it began attempt 1 (not counted)',
    );
    // Not counted: a task on its only attempt may still run.
    expect([budget(t1), budget(t2)]).toEqual([0, 0]);
  });

  it('counts an unlisted attempt when a new process under the id leaves it out: the old one may have begun it', () => {
    const { ctx, tasks } = setup(1);
    const [t1] = tasks as [TaskRecord];
    run(ctx, t1, 'a', false);
    reconcile(ctx, m('a'), [], FIRST);
    expect(t1.error).toBe(
      'member a did not list it when it came back after the restart during attempt 1',
    );
    expect(t1.attempt - t1.attemptBase).toBe(1);
  });

  it('stops attempts that are not the worker’s, and cancelled ones only when asked', () => {
    const { ctx, tasks } = setup(2);
    const [t1, t2] = tasks as [TaskRecord, TaskRecord];
    run(ctx, t1, 'a');
    run(ctx, t2, 'a');
    ctx.index.setStatus(t2, 'cancelled');
    const running = [
      { taskId: t1.id, attempt: 2 },
      { taskId: t2.id, attempt: 1 },
      { taskId: t('gone'), attempt: 1 },
    ];
    expect(reconcile(ctx, m('a'), running, FOLLOWING).stops.map((stop) => stop.reason)).toEqual([
      'attempt 2 of task t1 is not assigned to a',
      'attempt 1 of task gone is not assigned to a',
    ]);
    expect(reconcile(ctx, m('a'), running, FIRST).stops.map((stop) => stop.reason)).toEqual([
      'attempt 2 of task t1 is not assigned to a',
      'cancelled',
      'attempt 1 of task gone is not assigned to a',
    ]);
    expect(reconcile(ctx, m('c'), [{ taskId: t1.id, attempt: 1 }], FIRST).stops).toHaveLength(1);
  });
});
