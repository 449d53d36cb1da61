import { describe, expect, it } from 'vitest';
import {
  ClusterEvents,
  type OutputEvent,
  type TaskEvent,
} from '../../../src/leader/cluster-events.js';
import { CommitPipeline, isDiskFull } from '../../../src/leader/commit-pipeline.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { TaskOutputLog } from '../../../src/scheduler/task-output.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import { StorageFullError, UnavailableError } from '../../../src/shared/errors.js';
import { GatedStore } from '../../helpers/gated-store.js';
import { nextTurn } from '../../helpers/manual-timers.js';

const NOW = 1_000;

function setup() {
  const store = new GatedStore();
  const events = new ClusterEvents();
  const output = new TaskOutputLog({ perTaskChars: 100, totalChars: 1_000 });
  const failures: unknown[] = [];
  const commits = new CommitPipeline({
    ...{ store, events, output },
    onStoreFailure: (err) => failures.push(err),
  });
  const scheduler = new Scheduler({ maxPayloadBytes: 100 });
  let n = 0;
  /** A new pending task (not saved). */
  const task = (): TaskRecord =>
    scheduler.scheduleMany(NOW, [{ id: `t${++n}`, payload: 'p' }]).tasks[0]!;
  const taskEvents: TaskEvent[] = [];
  const watchTasks = () => events.onTask((event) => taskEvents.push(event));
  const follow = (t: TaskRecord) => {
    const seen: OutputEvent['kind'][] = [];
    events.onOutput(t.id, (event) => seen.push(event.kind));
    return seen;
  };
  return {
    store,
    events,
    output,
    failures,
    commits,
    scheduler,
    task,
    taskEvents,
    watchTasks,
    follow,
  };
}

describe('CommitPipeline.save', () => {
  it('tells watchers only once the write has landed, one event per task', async () => {
    const { store, commits, task, taskEvents, watchTasks } = setup();
    watchTasks();
    const [a, b] = [task(), task()];
    store.hold();
    const saving = commits.save([a, b, a]);
    await nextTurn();
    expect(taskEvents).toEqual([]);
    store.release();
    await saving;
    expect(store.writes.map((w) => w.state)).toEqual(['landed']);
    expect(taskEvents.map((e) => (e.kind === 'changed' ? e.task.id : e.id))).toEqual(['t1', 't2']);
  });

  it("gives watchers the attempt log as written once the commit landed, the task's first attempt too", async () => {
    const store = new GatedStore();
    const events = new ClusterEvents();
    const commits = new CommitPipeline({
      ...{ store, events, output: new TaskOutputLog({ perTaskChars: 100, totalChars: 1_000 }) },
      onStoreFailure: () => {},
      // As SavedTasks does: the log of an attempt that a commit started is begun after it.
      onSaved: (changed) => {
        for (const t of changed)
          (t.attemptLog ??= []).push({ attempt: 1, memberId: 'w1', startedAtMs: NOW });
      },
    });
    const taskEvents: TaskEvent[] = [];
    events.onTask((event) => taskEvents.push(event));
    const a = new Scheduler({ maxPayloadBytes: 100 }).scheduleMany(NOW, [{ id: 'a', payload: 'p' }])
      .tasks[0]!;
    await commits.save([a]);
    const event = taskEvents[0]!;
    expect(event.kind === 'changed' && event.task.attemptLog).toEqual([
      { attempt: 1, memberId: 'w1', startedAtMs: NOW },
    ]);
    a.attemptLog![0]!.outcome = 'completed'; // a later change does not reach the event
    expect(event.kind === 'changed' && event.task.attemptLog![0]!.outcome).toBeUndefined();
  });

  it('gives watchers the task as saved: later changes do not reach the event', async () => {
    const { store, commits, scheduler, task, taskEvents, watchTasks } = setup();
    watchTasks();
    const a = task();
    store.hold();
    const saving = commits.save([a]);
    scheduler.cancel(NOW, a.id); // changed after the save was asked for, before it landed
    store.release();
    await saving;
    const event = taskEvents[0]!;
    expect(event).toMatchObject({ kind: 'changed', task: { id: 't1', status: 'pending' } });
    a.result = 'mutated after the event';
    expect(event.kind === 'changed' && event.task.result).toBeUndefined();
    expect(event.kind === 'changed' && event.task).not.toBe(a);
  });

  it('ends the output followers of a finished task only after the save', async () => {
    const { store, commits, scheduler, task, follow, output } = setup();
    const [done, open] = [task(), task()];
    scheduler.cancel(NOW, done.id);
    output.append(done.id, 1, 'stdout', 'kept');
    const doneSeen = follow(done);
    const openSeen = follow(open);
    store.hold();
    const saving = commits.save([done, open]);
    await nextTurn();
    expect(doneSeen).toEqual([]);
    store.release();
    await saving;
    expect(doneSeen).toEqual(['end']);
    expect(openSeen).toEqual([]);
    expect(output.read(done.id, 0).map((c) => c.data)).toEqual(['kept']);
  });

  it('ends followers only after the save that finished the task lands (not an earlier one)', async () => {
    const { store, commits, scheduler, task, follow } = setup();
    const t = task();
    const seen = follow(t);
    store.hold();
    const first = commits.save([t]); // saved pending; the write is in flight
    scheduler.cancel(NOW, t.id); // cancelled meanwhile: a second save will carry it
    store.releaseOne();
    await first;
    expect(seen).toEqual([]);
    const second = commits.save([t]);
    store.release();
    await second;
    expect(seen).toEqual(['end']);
  });

  it.each([
    ['ENOSPC', StorageFullError],
    ['SQLITE_FULL', StorageFullError],
    ['EIO', UnavailableError],
  ])(
    'on a write failing with %s: rejects, stops the leader once, tells no one',
    async (code, kind) => {
      const { store, commits, scheduler, task, failures, taskEvents, watchTasks, follow } = setup();
      watchTasks();
      const a = task();
      scheduler.cancel(NOW, a.id);
      const seen = follow(a);
      const error = { code };
      store.failNext(error);
      await expect(commits.save([a])).rejects.toBeInstanceOf(kind);
      expect(failures).toEqual([error]);
      expect(taskEvents).toEqual([]);
      expect(seen).toEqual([]);
      expect(await store.saved()).toEqual([]);
    },
  );
});

describe('CommitPipeline.then', () => {
  it('acts only after the save lands', async () => {
    const { store, commits, task } = setup();
    const acted: string[] = [];
    store.hold();
    commits.then([task()], () => acted.push(store.writes[0]!.state));
    await nextTurn();
    expect(acted).toEqual([]);
    store.release();
    await nextTurn();
    expect(acted).toEqual(['landed']);
  });

  it('acts at once, with no write, when nothing changed', () => {
    const { store, commits } = setup();
    let acted = false;
    commits.then([], () => (acted = true));
    expect(acted).toBe(true);
    expect(store.count()).toBe(0);
  });

  it('never acts on a failed save, and reports the failure once', async () => {
    const { store, commits, task, failures } = setup();
    let acted = false;
    store.failNext({ code: 'ENOSPC' });
    commits.then([task()], () => (acted = true));
    await nextTurn();
    expect(acted).toBe(false);
    expect(failures).toHaveLength(1);
  });
});

describe('CommitPipeline.remove', () => {
  it("emits 'deleted' and ends output only once the store has removed the tasks", async () => {
    const { store, commits, scheduler, task, output, taskEvents, watchTasks, follow } = setup();
    const a = task();
    scheduler.cancel(NOW, a.id);
    await commits.save([a]);
    output.append(a.id, 1, 'stdout', 'gone soon');
    watchTasks();
    const seen = follow(a);
    store.hold();
    const removing = commits.remove([a]);
    await nextTurn();
    expect(taskEvents).toEqual([]);
    expect(seen).toEqual([]);
    expect(await store.saved()).toHaveLength(1);
    store.release();
    await removing;
    expect(await store.saved()).toEqual([]);
    expect(taskEvents).toEqual([{ kind: 'deleted', id: 't1' }]);
    expect(seen).toEqual(['end']);
    expect(output.read(a.id, 0)).toEqual([]);
  });

  it('keeps output and tells no one when the removal fails', async () => {
    const { store, commits, task, output, failures, taskEvents, watchTasks } = setup();
    const a = task();
    output.append(a.id, 1, 'stdout', 'kept');
    watchTasks();
    store.failNext(new Error('disk is full'));
    await expect(commits.remove([a])).rejects.toBeInstanceOf(StorageFullError);
    expect(failures).toHaveLength(1);
    expect(taskEvents).toEqual([]);
    expect(output.read(a.id, 0)).toHaveLength(1);
  });
});

describe('CommitPipeline.saveOutput', () => {
  const chunk = { offset: 0, attempt: 1, stream: 'stdout', data: 'x', truncated: false };

  it('writes nothing for no chunks, and the chunks otherwise', async () => {
    const { store, commits } = setup();
    commits.saveOutput([]);
    expect(store.count()).toBe(0);
    commits.saveOutput([{ taskSeq: 7, chunk }]);
    await nextTurn();
    expect(await store.loadOutput()).toEqual([{ taskSeq: 7, chunk }]);
  });

  it('reports a failed output write once, with no rejection left unhandled', async () => {
    const { store, commits, failures } = setup();
    store.failNext({ code: 'SQLITE_FULL' });
    commits.saveOutput([{ taskSeq: 7, chunk }]);
    await nextTurn();
    expect(failures).toEqual([{ code: 'SQLITE_FULL' }]);
  });
});

describe('isDiskFull', () => {
  it.each([
    [{ code: 'ENOSPC' }, true],
    [{ code: 'SQLITE_FULL' }, true],
    [new Error('database or disk is full'), true],
    [new Error('write failed: no space left on device'), true],
    [{ code: 'EIO' }, false],
    [new Error('database is locked'), false],
    [null, false],
  ])('%o -> %s', (err, full) => {
    expect(isDiskFull(err)).toBe(full);
  });
});
