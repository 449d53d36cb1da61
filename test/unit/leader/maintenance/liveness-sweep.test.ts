import { describe, expect, it } from 'vitest';
import type { MemberEvent } from '../../../../src/leader/cluster-events.js';
import { LivenessSweep } from '../../../../src/leader/maintenance/liveness-sweep.js';
import type { MembershipTiming } from '../../../../src/leader/membership/registry.js';
import { asMemberId } from '../../../../src/shared/ids.js';
import { leaderParts, TIMING } from '../leader-parts.js';

const a = asMemberId('a');

function setup(timing: Partial<MembershipTiming> = {}) {
  const parts = leaderParts({ timing });
  const sweep = new LivenessSweep({
    membership: parts.membership,
    members: parts.members,
    feed: parts.feed,
  });
  const t0 = parts.clock.nowMs();
  /** Moves the clock to `ms` after the start and sweeps. */
  const sweepAt = (ms: number) => {
    parts.clock.advance(t0 + ms - parts.clock.nowMs());
    sweep.run(parts.clock.nowMs());
  };
  return { ...parts, sweepAt };
}

describe('LivenessSweep', () => {
  it('makes a silent member suspect exactly at the timeout; a suspect gets no new work', async () => {
    const { sweepAt, state, worker, enqueue, timers } = setup();
    const w = worker('a');
    sweepAt(TIMING.suspectAfterMs - 1);
    expect(state('a')).toBe('alive');
    sweepAt(TIMING.suspectAfterMs);
    expect(state('a')).toBe('suspect');
    await enqueue({});
    await timers.settle();
    expect(w.channel.starts).toEqual([]);
  });

  it('makes it dead exactly at the dead timeout: closed, task requeued and saved, then given on', async () => {
    const { sweepAt, state, worker, enqueue, timers, store, scheduler } = setup();
    const w = worker('a');
    const [task] = await enqueue({});
    await timers.settle();
    sweepAt(TIMING.deadAfterMs - 1);
    expect(state('a')).toBe('suspect');
    const b = worker('b');
    await timers.settle();
    store.hold();
    const writes = store.count();
    sweepAt(TIMING.deadAfterMs);
    expect([state('a'), state('b')]).toEqual(['dead', 'alive']);
    expect(w.channel.closed).toBe(`member a is dead: no heartbeat for ${TIMING.deadAfterMs} ms`);
    expect(scheduler.get(task!.id)).toMatchObject({ status: 'pending', attempt: 1 });
    await timers.settle();
    expect(store.count()).toBe(writes + 1); // the requeue; no round before it is saved
    expect(b.channel.starts).toEqual([]);
    store.release();
    await timers.settle();
    expect(b.channel.starts).toEqual([expect.objectContaining({ taskId: task!.id, attempt: 2 })]);
  });

  it('lifts a quarantine exactly when it is over: the member gets work again', async () => {
    const { sweepAt, worker, enqueue, timers, membership } = setup({ quarantineMs: 1_000 });
    const w = worker('a');
    w.beat({ status: 'failed', statusReason: 'sick' });
    const [task] = await enqueue({});
    sweepAt(999);
    await timers.settle();
    expect(membership.get(a)!.quarantine).toBeDefined();
    expect(w.channel.starts).toEqual([]);
    sweepAt(1_000);
    expect(membership.get(a)!.quarantine).toBeUndefined();
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual([task!.id]);
  });

  it('forgets a departed member at the end of its retention, telling watchers it is removed', () => {
    const { sweepAt, worker, members, membership, events, timers } = setup();
    worker('a');
    members.leave(a);
    const seen: string[] = [];
    events.onMember((e: MemberEvent) =>
      seen.push(e.kind === 'removed' ? `${e.id} removed` : e.kind),
    );
    sweepAt(TIMING.retentionMs - 1);
    timers.runTurn();
    expect(membership.get(a)).toBeDefined();
    expect(seen).toEqual([]);
    sweepAt(TIMING.retentionMs);
    timers.runTurn();
    expect(membership.get(a)).toBeUndefined();
    expect(seen).toEqual(['a removed']);
  });
});
