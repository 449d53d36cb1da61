import { describe, expect, it } from 'vitest';
import type { MemberEvent } from '../../../src/leader/cluster-events.js';
import { nextTurn } from '../../helpers/manual-timers.js';
import { leaderParts } from './leader-parts.js';

/** Parts with workers a and b alive (their first rounds run), and nothing queued. */
async function setup() {
  const parts = leaderParts();
  const a = parts.worker('a');
  const b = parts.worker('b');
  await parts.timers.settle();
  return { ...parts, a, b, writesBefore: parts.store.count() };
}

describe('Assignment', () => {
  it('tells the worker to start only after the round is saved', async () => {
    const { store, timers, assignment, enqueue, stored, a, b } = await setup();
    const [task] = await enqueue({});
    store.hold();
    assignment.request();
    timers.runTurn();
    expect(store.writes.at(-1)).toMatchObject({ op: 'save', ids: [task!.id], state: 'pending' });
    expect(store.writes.at(-1)!.records[0]).toMatchObject({ status: 'running', attempt: 1 });
    await nextTurn();
    expect([...a.channel.starts, ...b.channel.starts]).toEqual([]);
    store.release();
    await nextTurn();
    const starts = [...a.channel.starts, ...b.channel.starts];
    expect(starts).toEqual([expect.objectContaining({ taskId: task!.id, attempt: 1 })]);
    expect(await stored(task!.id)).toMatchObject({
      status: 'running',
      memberId: starts[0]!.memberId,
    });
  });

  it('runs one round per turn, however many ask, in one write', async () => {
    const { store, timers, assignment, enqueue, a, b, writesBefore } = await setup();
    await enqueue({}, {});
    for (let i = 0; i < 4; i++) assignment.request();
    expect(timers.runTurn()).toBe(1);
    await timers.settle();
    expect(store.writes.slice(writesBefore + 1).map((w) => [w.op, w.ids.length])).toEqual([
      ['save', 2],
    ]);
    expect([a.channel.starts.length, b.channel.starts.length]).toEqual([1, 1]);
  });

  it('writes nothing when there is nothing to assign', async () => {
    const { store, timers, assignment, writesBefore } = await setup();
    assignment.request();
    timers.runTurn();
    expect(store.count()).toBe(writesBefore);
  });

  it('sends nothing when the round cannot be saved', async () => {
    const { store, timers, assignment, enqueue, storeFailures, a, b } = await setup();
    await enqueue({});
    store.failNext({ code: 'ENOSPC' });
    assignment.request();
    timers.runTurn();
    await nextTurn();
    expect(storeFailures).toEqual([{ code: 'ENOSPC' }]);
    expect([...a.channel.starts, ...b.channel.starts]).toEqual([]);
  });

  it('runs no round already asked for once stopped', async () => {
    const { store, timers, assignment, enqueue, writesBefore } = await setup();
    await enqueue({});
    assignment.request();
    assignment.stop();
    await timers.settle();
    assignment.request();
    await timers.settle();
    expect(store.count()).toBe(writesBefore + 1); // the enqueue only
  });

  it('takeNow assigns without saving or telling; dispatch tells and notes the member', async () => {
    const { store, timers, assignment, events, enqueue, clock, a, b, writesBefore } = await setup();
    await enqueue({});
    const changedMembers: string[] = [];
    events.onMember((e: MemberEvent) =>
      changedMembers.push(e.kind === 'changed' ? e.view.member.id : e.id),
    );
    const { changed, starts } = assignment.takeNow(clock.nowMs());
    expect(changed.map((t) => t.status)).toEqual(['running']);
    expect(store.count()).toBe(writesBefore + 1);
    expect([...a.channel.starts, ...b.channel.starts]).toEqual([]);
    assignment.dispatch(starts);
    timers.runTurn();
    expect([...a.channel.starts, ...b.channel.starts]).toHaveLength(1);
    expect(changedMembers).toEqual([starts[0]!.memberId]);
  });

  it('skips a start whose member lost its channel while the round was being saved', async () => {
    const { store, timers, assignment, enqueue, members, scheduler, a, b } = await setup();
    members.drain(b.id); // only a takes work
    const [task] = await enqueue({});
    store.hold();
    assignment.request();
    timers.runTurn();
    members.closeStream(a.id, a.streamId, 'connection reset'); // a is dead, its task requeued
    store.release();
    await timers.settle();
    expect(a.channel.starts).toEqual([]);
    expect(scheduler.get(task!.id)).toMatchObject({ status: 'pending', attempt: 1 });
  });

  it('fails, rather than starts, a task lost on its last attempt once its worker had the dead timeout to come back', async () => {
    const { timers, members, enqueue, stored, scheduler, worker, clock, timing, a, b } =
      await setup();
    members.leave(b.id);
    const [task] = await enqueue({ maxAttempts: 1 });
    await timers.settle(); // a runs its only attempt
    expect(a.channel.starts).toHaveLength(1);
    members.leave(a.id); // lost: it waits for a to come back, its attempt kept
    const c = worker('c');
    await timers.settle();
    expect(c.channel.starts).toEqual([]);
    expect(scheduler.get(task!.id)).toMatchObject({ status: 'pending', attempt: 1 });
    // The grace (the dead timeout) is over: it fails, never started on c.
    expect(timers.timerDelays).toContain(timing.deadAfterMs);
    clock.advance(timing.deadAfterMs);
    timers.fireTimers();
    await timers.settle();
    expect(c.channel.starts).toEqual([]);
    expect(scheduler.get(task!.id)).toMatchObject({
      status: 'error',
      attempt: 1,
      error: expect.stringMatching(/; no attempts left \(max 1\)$/) as string,
    });
    expect(await stored(task!.id)).toMatchObject({ status: 'error', attempt: 1 });
  });
});
