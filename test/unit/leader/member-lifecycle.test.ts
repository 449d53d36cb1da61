import { describe, expect, it } from 'vitest';
import { NotFoundError, StaleError } from '../../../src/shared/errors.js';
import { asMemberId, asTaskId } from '../../../src/shared/ids.js';
import { RecordingChannel } from '../../helpers/recording-channel.js';
import { leaderParts, TIMING, type LeaderParts, type WorkerSpec } from './leader-parts.js';

/** A fresh worker `name` running one new task. */
async function runOn(parts: LeaderParts, name: string, spec: WorkerSpec = {}) {
  const w = parts.worker(name, spec);
  const [task] = await parts.enqueue({});
  await parts.timers.settle();
  expect(w.channel.starts.map((s) => s.taskId)).toEqual([task!.id]);
  return { w, task: task! };
}

const a = asMemberId('a');

describe('MemberLifecycle: join, streams, heartbeats', () => {
  it('gives a joined member no work until its first heartbeat makes it alive', async () => {
    const { members, enqueue, timers, state } = leaderParts();
    const answer = members.join({
      id: a,
      address: '',
      instance: 'a-1',
      slots: 1,
      kinds: new Set(['default']),
    });
    expect(answer).toEqual({
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: TIMING.deadAfterMs,
      // The dead timeout less a quarter (50 ms to 1 s): the worker's fence comes first.
      fenceAfterMs: 2_250,
      session: 's1',
    });
    const channel = new RecordingChannel();
    const streamId = members.openStream(a, answer.session, channel);
    const [task] = await enqueue({});
    await timers.settle();
    expect(state('a')).toBe('joining');
    expect(channel.starts).toEqual([]);
    members.heartbeat(a, streamId, { status: 'idle', draining: false, running: [] }, true);
    expect(state('a')).toBe('alive');
    await timers.settle();
    expect(channel.starts.map((s) => s.taskId)).toEqual([task!.id]);
  });

  it('closes the older channel when a newer stream opens; the older one ending changes nothing', async () => {
    const parts = leaderParts();
    const w = parts.worker('a');
    const newer = new RecordingChannel();
    parts.members.openStream(a, w.session, newer);
    expect(w.channel.closes).toEqual(['replaced by a newer heartbeat stream']);
    parts.members.closeStream(a, w.streamId, 'stream ended');
    expect(parts.state('a')).toBe('alive');
    await parts.enqueue({});
    await parts.timers.settle();
    expect(newer.starts).toHaveLength(1);
  });

  it('on the current stream ending: dead, its task requeued and saved before another gets it', async () => {
    const parts = leaderParts();
    const { w, task } = await runOn(parts, 'a');
    const b = parts.worker('b');
    await parts.timers.settle();
    parts.store.hold();
    parts.members.closeStream(a, w.streamId, 'connection reset');
    expect(parts.state('a')).toBe('dead');
    const requeue = parts.store.writes.length - 1;
    expect(parts.store.writes[requeue]!.records[0]).toMatchObject({
      status: 'pending',
      attempt: 1,
    });
    await parts.timers.settle();
    // No round (no write of one, no start) before the requeue is saved.
    expect(parts.store.writes).toHaveLength(requeue + 1);
    expect(b.channel.starts).toEqual([]);
    parts.store.release();
    await parts.timers.settle();
    expect(b.channel.starts).toEqual([expect.objectContaining({ taskId: task.id, attempt: 2 })]);
    expect(parts.store.writes.slice(requeue).map((x) => [x.state, x.records[0]?.status])).toEqual([
      ['landed', 'pending'],
      ['landed', 'running'],
    ]);
  });

  it('on leave: closes the channel with the reason and requeues what it ran', async () => {
    const parts = leaderParts();
    const { w, task } = await runOn(parts, 'a');
    parts.members.leave(a);
    expect(w.channel.closes).toEqual(['member a is left: left the cluster']);
    expect(parts.scheduler.get(task.id)).toMatchObject({ status: 'pending', attempt: 1 });
    expect(parts.scheduler.get(task.id).error).toMatch(/member a was gone \(left the cluster\)/);
    await parts.timers.settle();
    expect(await parts.stored(task.id)).toMatchObject({ status: 'pending' });
  });

  it("re-attaches, on a new stream's first heartbeat, an attempt requeued when it was lost", async () => {
    const parts = leaderParts();
    const { w, task } = await runOn(parts, 'a');
    parts.members.closeStream(a, w.streamId, 'connection reset');
    await parts.timers.settle();
    const { session } = parts.members.join({
      id: a,
      address: '',
      instance: 'a-1',
      slots: 1,
      kinds: new Set(['default']),
    });
    const channel = new RecordingChannel();
    const streamId = parts.members.openStream(a, session, channel);
    parts.members.heartbeat(
      a,
      streamId,
      { status: 'busy', draining: false, running: [{ taskId: task.id, attempt: 1 }] },
      true,
    );
    await parts.timers.settle();
    expect(channel.starts).toEqual([]); // not started again
    expect(parts.scheduler.get(task.id)).toMatchObject({
      status: 'running',
      attempt: 1,
      memberId: 'a',
    });
    expect(await parts.stored(task.id)).toMatchObject({ status: 'running', attempt: 1 });
  });

  it('tells a worker to stop an attempt that is not its own', () => {
    const parts = leaderParts();
    const w = parts.worker('a');
    w.beat({ running: [{ taskId: asTaskId('ghost'), attempt: 1 }] });
    expect(w.channel.stops).toEqual([
      expect.objectContaining({
        taskId: 'ghost',
        attempt: 1,
        reason: expect.stringMatching(/not assigned to a/),
      }),
    ]);
  });
});

describe('MemberLifecycle: quarantine and drain', () => {
  it('quarantines after N failures in a row (no work), and lifting it gives work again', async () => {
    const parts = leaderParts();
    const w = parts.worker('a');
    parts.worker('b', { kinds: ['other'] }); // alive, so holding 'a' leaves half the cluster
    for (let i = 1; i < TIMING.quarantineAfterFailures; i++)
      parts.members.recordOutcome(parts.clock.nowMs(), a, true);
    expect(parts.membership.get(a)!.quarantine).toBeUndefined();
    parts.members.recordOutcome(parts.clock.nowMs(), a, true);
    expect(parts.membership.get(a)!.quarantine).toBeDefined();
    const [task] = await parts.enqueue({});
    await parts.timers.settle();
    expect(w.channel.starts).toEqual([]);
    parts.clock.advance(TIMING.quarantineMs);
    w.beat();
    for (const change of parts.membership.sweep(parts.clock.nowMs()).quarantines)
      parts.members.applyQuarantine(change);
    await parts.timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual([task!.id]);
  });

  it('quarantines a member whose heartbeat says FAILED at once', async () => {
    const parts = leaderParts();
    const w = parts.worker('a');
    w.beat({ status: 'failed', statusReason: 'disk gone' });
    expect(parts.membership.get(a)!.quarantine?.reason).toBe('worker reports FAILED: disk gone');
    await parts.enqueue({});
    await parts.timers.settle();
    expect(w.channel.starts).toEqual([]);
  });

  it('drains: no new work, what it runs keeps running', async () => {
    const parts = leaderParts();
    const { w, task } = await runOn(parts, 'a', { slots: 2 });
    const view = parts.members.drain(a);
    expect(view).toMatchObject({
      member: { state: 'draining' },
      runningTaskIds: [task.id],
      slotsFree: 1,
    });
    await parts.enqueue({});
    await parts.timers.settle();
    expect(w.channel.starts).toHaveLength(1);
    expect(w.channel.closes).toEqual([]);
    expect(parts.scheduler.get(task.id).status).toBe('running');
  });

  it('refuses to drain an unknown or departed member, changing nothing', () => {
    const parts = leaderParts();
    expect(() => parts.members.drain(a)).toThrow(NotFoundError);
    parts.worker('a');
    parts.members.leave(a);
    expect(() => parts.members.drain(a)).toThrow(StaleError);
    expect(parts.state('a')).toBe('left');
  });

  it('shows each member with its load and heartbeat age', async () => {
    const parts = leaderParts();
    const { task } = await runOn(parts, 'a', { slots: 3 });
    parts.clock.advance(400);
    expect(parts.members.views()).toEqual([
      expect.objectContaining({
        runningTaskIds: [task.id],
        slotsFree: 2,
        slotsStopping: 0,
        heartbeatAgeMs: 400,
      }),
    ]);
  });
});
