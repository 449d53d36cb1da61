import { describe, expect, it } from 'vitest';
import {
  InvalidArgumentError,
  NotFoundError,
  StaleError,
  StorageFullError,
  UnavailableError,
} from '../../../src/shared/errors.js';
import { asMemberId, asTaskId } from '../../../src/shared/ids.js';
import { nextTurn } from '../../helpers/manual-timers.js';
import { leaderParts } from './leader-parts.js';

const a = asMemberId('a');

/** Parts with worker a alive (running commands, allow-listing `echo`), settled. */
async function setup(slots = 1) {
  const parts = leaderParts();
  const w = parts.worker('a', { slots, kinds: ['default', 'command'], commands: ['echo'] });
  await parts.timers.settle();
  return { ...parts, w, writes: () => parts.store.count() };
}

describe('TaskCommands.schedule', () => {
  it('answers a held idempotency key with the first task, only once that task is saved', async () => {
    const parts = await setup(0);
    const { store, commands } = parts;
    const events: string[] = [];
    parts.events.onTask((event) => events.push(event.kind));
    store.hold();
    let firstAnswered = false;
    let secondAnswered = false;
    const first = commands.schedule([{ id: 'one', payload: 'p', idempotencyKey: 'k' }]);
    void first.then(() => (firstAnswered = true));
    await nextTurn();
    const second = commands.schedule([{ id: 'two', payload: 'q', idempotencyKey: 'k' }]);
    void second.then(() => (secondAnswered = true));
    await nextTurn();
    await nextTurn();
    // The first save is still held: a crash now would lose 'one', so 'two' must not be
    // told it exists.
    expect([firstAnswered, secondAnswered]).toEqual([false, false]);
    store.release();
    expect(await second).toEqual({
      tasks: [expect.objectContaining({ id: 'one', payload: 'p' })],
      existing: [true],
    });
    expect(firstAnswered).toBe(true);
    expect((await store.saved()).map((task) => task.id)).toEqual(['one']);
    // Only the first task's own save told watchers anything: the answer wrote nothing.
    expect(events).toEqual(['changed']);
  });

  it('saves the task and its assignment in one write, answers after it, then starts it', async () => {
    const { store, commands, w, stored, writes } = await setup();
    const before = writes();
    store.hold();
    let answered = false;
    const scheduling = commands.schedule([{ payload: 'p' }]).then(({ tasks }) => {
      answered = true;
      return tasks;
    });
    await nextTurn();
    expect([answered, w.channel.starts.length]).toEqual([false, 0]);
    store.release();
    const [task] = await scheduling;
    expect(writes()).toBe(before + 1);
    expect(store.writes.at(-1)!.records.map((r) => r.status)).toContain('running');
    expect(await stored(task!.id)).toMatchObject({ status: 'running', attempt: 1, memberId: 'a' });
    expect(w.channel.starts.map((s) => s.taskId)).toEqual([task!.id]);
  });

  it('takes a batch whole or not at all', async () => {
    const { commands, scheduler, writes } = await setup();
    const before = writes();
    await expect(commands.schedule([{ payload: 'ok' }, { payload: '' }])).rejects.toThrow(
      /tasks\[1\]/,
    );
    expect(writes()).toBe(before);
    expect(scheduler.list({ pageSize: 100 }).tasks).toEqual([]);
  });

  it('rejects with StorageFullError, reports once and starts nothing when the write fails', async () => {
    const { store, commands, w, storeFailures } = await setup();
    store.failNext({ code: 'ENOSPC' });
    await expect(commands.schedule([{ payload: 'p' }])).rejects.toBeInstanceOf(StorageFullError);
    expect(storeFailures).toEqual([{ code: 'ENOSPC' }]);
    expect(w.channel.starts).toEqual([]);
  });
});

describe('TaskCommands while shutting down', () => {
  it('changes nothing: schedule, cancel and delete throw UnavailableError', async () => {
    const { commands, scheduler, shutDown, writes, enqueue } = await setup(0);
    const [task] = await enqueue({});
    const before = writes();
    shutDown();
    await expect(commands.schedule([{ payload: 'p' }])).rejects.toBeInstanceOf(UnavailableError);
    await expect(commands.cancel(task!.id)).rejects.toBeInstanceOf(UnavailableError);
    await expect(commands.delete(task!.id)).rejects.toBeInstanceOf(UnavailableError);
    expect(writes()).toBe(before);
    expect(scheduler.list({ pageSize: 100 }).tasks.map((t) => [t.id, t.status])).toEqual([
      [task!.id, 'pending'],
    ]);
  });
});

describe('TaskCommands.startCommand', () => {
  it('schedules the command pinned to the member', async () => {
    const { commands, w } = await setup();
    const task = await commands.startCommand(a, 'echo', ['hi'], '/tmp');
    expect(task).toMatchObject({ kind: 'command', targetMemberId: 'a' });
    expect(JSON.parse(task.payload)).toEqual({ command: 'echo', args: ['hi'], cwd: '/tmp' });
    expect(w.channel.starts.map((s) => s.taskId)).toEqual([task.id]);
  });

  it.each([
    ['an unknown member', 'b', 'echo', [], NotFoundError],
    ['a draining member', 'drained', 'echo', [], StaleError],
    ['a command not allow-listed', 'a', 'rm', [], StaleError],
    ['a command that is not text', 'a', 'ec\uD800ho', [], InvalidArgumentError],
    ['an argument that is not text', 'a', 'echo', ['\uDC00'], InvalidArgumentError],
  ])('refuses %s and changes nothing', async (_what, member, command, args, kind) => {
    const parts = await setup();
    parts.worker('drained', { commands: ['echo'] });
    parts.members.drain(asMemberId('drained'));
    const before = parts.writes();
    await expect(
      parts.commands.startCommand(asMemberId(member), command, args),
    ).rejects.toBeInstanceOf(kind);
    expect(parts.writes()).toBe(before);
    expect(parts.scheduler.list({ pageSize: 100 }).tasks).toEqual([]);
  });
});

describe('TaskCommands.cancel, complete and delete', () => {
  it('cancels a running task: saved, then the worker told to stop', async () => {
    const { store, commands, w } = await setup();
    const {
      tasks: [task],
    } = await commands.schedule([{ payload: 'p' }]);
    store.hold();
    const cancelling = commands.cancel(task!.id);
    await nextTurn();
    expect(w.channel.stops).toEqual([]);
    store.release();
    expect(await cancelling).toMatchObject({
      task: { status: 'cancelled' },
      stopSent: true,
      alreadyCancelled: false,
    });
    expect(w.channel.stops).toEqual([
      expect.objectContaining({ taskId: task!.id, reason: 'cancelled' }),
    ]);
    // Cancelled again: nothing changes, no second stop, and the answer says so.
    expect(await commands.cancel(task!.id)).toMatchObject({
      task: { status: 'cancelled' },
      stopSent: false,
      alreadyCancelled: true,
    });
    expect(w.channel.stops).toHaveLength(1);
  });

  it('refuses a stale attempt or another member, saving nothing', async () => {
    const { commands, scheduler, writes } = await setup();
    const {
      tasks: [task],
    } = await commands.schedule([{ payload: 'p' }]);
    const before = writes();
    await expect(commands.complete({ taskId: task!.id, attempt: 2, memberId: a })).rejects.toThrow(
      StaleError,
    );
    await expect(
      commands.complete({ taskId: task!.id, attempt: 1, memberId: asMemberId('b') }),
    ).rejects.toThrow(StaleError);
    expect(writes()).toBe(before);
    expect(scheduler.get(task!.id).status).toBe('running');
  });

  it('completes the current attempt, saves it and frees the slot for the next task', async () => {
    const { commands, w, stored, timers } = await setup();
    const {
      tasks: [first, second],
    } = await commands.schedule([{ payload: 'p' }, { payload: 'q' }]);
    const done = await commands.complete({
      taskId: first!.id,
      attempt: 1,
      memberId: a,
      result: 'ok',
    });
    expect(done).toMatchObject({ status: 'completed', result: 'ok' });
    expect(await stored(first!.id)).toMatchObject({ status: 'completed', result: 'ok' });
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual([first!.id, second!.id]);
  });

  it('counts failed attempts toward quarantine, but not permanent errors', async () => {
    const { commands, membership, timing } = await setup();
    for (let i = 0; i < timing.quarantineAfterFailures; i++) {
      const {
        tasks: [task],
      } = await commands.schedule([{ payload: 'p', maxAttempts: 1 }]);
      await commands.complete({
        taskId: task!.id,
        attempt: 1,
        memberId: a,
        error: 'bad input',
        permanent: true,
      });
    }
    expect(membership.get(a)!.consecutiveFailures).toBe(0);
    const {
      tasks: [task],
    } = await commands.schedule([{ payload: 'p', maxAttempts: 1 }]);
    await commands.complete({ taskId: task!.id, attempt: 1, memberId: a, error: 'crashed' });
    expect(membership.get(a)!.consecutiveFailures).toBe(1);
  });

  it('refuses to delete an open task, and deletes a finished one from the store', async () => {
    const { commands, store, scheduler, stored, writes } = await setup(0);
    const {
      tasks: [task],
    } = await commands.schedule([{ payload: 'p' }]);
    const before = writes();
    await expect(commands.delete(task!.id)).rejects.toThrow(StaleError);
    expect(writes()).toBe(before);
    expect(await stored(task!.id)).toBeDefined();
    await commands.cancel(task!.id);
    await commands.delete(task!.id);
    expect(store.writes.at(-1)).toMatchObject({ op: 'remove', state: 'landed' });
    expect(await stored(task!.id)).toBeUndefined();
    expect(() => scheduler.get(task!.id)).toThrow(NotFoundError);
    await expect(commands.delete(asTaskId('nope'))).rejects.toThrow(NotFoundError);
  });
});
