import { describe, expect, it } from 'vitest';
import { ReattachGrace } from '../../../../src/leader/maintenance/reattach-grace.js';
import { asMemberId } from '../../../../src/shared/ids.js';
import { RecordingChannel } from '../../../helpers/recording-channel.js';
import { leaderParts } from '../leader-parts.js';

const a = asMemberId('a');
const GRACE = 5_000;

/**
 * A leader restarted while workers a and c ran a task each; the grace is armed unless told
 * not to. (A worker that comes back lists what it runs, so its other restored tasks go back
 * to the queue at once: the grace is for those whose worker does not come back, here c's.)
 */
async function setup(arm = true) {
  const before = leaderParts();
  before.worker('a', { slots: 1 });
  before.worker('c', { slots: 1 });
  const [first, second] = await before.enqueue({}, {});
  await before.timers.settle();
  const parts = leaderParts();
  parts.scheduler.restore(await before.store.saved());
  const { scheduler, commits, assignment, log } = parts;
  const grace = new ReattachGrace({ scheduler, commits, assignment, log });
  const deadline = parts.clock.nowMs() + GRACE;
  if (arm) grace.arm(deadline);
  /** Worker a comes back with one slot and re-attaches the first task. */
  const reattachFirst = () => {
    const { session } = parts.members.join({
      id: a,
      address: '',
      instance: 'a-1',
      slots: 1,
      kinds: new Set(['default']),
    });
    const channel = new RecordingChannel();
    const streamId = parts.members.openStream(a, session, channel);
    const running = [{ taskId: first!.id, attempt: 1 }];
    parts.members.heartbeat(a, streamId, { status: 'busy', draining: false, running }, true);
    return channel;
  };
  const status = (id: string) => parts.scheduler.get(id as never).status;
  return { ...parts, grace, deadline, first: first!, second: second!, reattachFirst, status };
}

describe('ReattachGrace', () => {
  it('does nothing when not armed', async () => {
    const { grace, store, timers, deadline, first, status } = await setup(false);
    grace.run(deadline + 60_000);
    expect(store.count()).toBe(0);
    expect(timers.pending).toBe(0);
    expect(status(first.id)).toBe('running');
  });

  it('requeues nothing 1 ms before the deadline', async () => {
    const { grace, store, timers, deadline, first, second, status } = await setup();
    grace.run(deadline - 1);
    expect(store.count()).toBe(0);
    expect(timers.pending).toBe(0);
    expect([status(first.id), status(second.id)]).toEqual(['running', 'running']);
  });

  it('at the deadline requeues what no worker re-attached, saved before the round gives it on', async () => {
    const {
      grace,
      store,
      timers,
      deadline,
      first,
      second,
      status,
      reattachFirst,
      worker,
      scheduler,
    } = await setup();
    const aChannel = reattachFirst();
    await timers.settle();
    const b = worker('b');
    await timers.settle();
    const writes = store.count();
    store.hold();
    grace.run(deadline);
    expect(status(first.id)).toBe('running');
    expect(scheduler.get(second.id)).toMatchObject({ status: 'pending', attempt: 1 });
    expect(scheduler.get(second.id).error).toMatch(/did not come back after a restart/);
    await timers.settle();
    expect(store.count()).toBe(writes + 1); // no round before the requeue is saved
    expect(b.channel.starts).toEqual([]);
    store.release();
    await timers.settle();
    expect(b.channel.starts).toEqual([expect.objectContaining({ taskId: second.id, attempt: 2 })]);
    expect(aChannel.starts).toEqual([]);
  });

  it('fires once: later sweeps change nothing and ask for no round', async () => {
    const { grace, store, timers, deadline, second, status } = await setup();
    grace.run(deadline);
    await timers.settle();
    expect(status(second.id)).toBe('pending');
    const writes = store.count();
    grace.run(deadline);
    grace.run(deadline + 1);
    grace.run(deadline + 600_000);
    expect(store.count()).toBe(writes);
    expect(timers.pending).toBe(0);
  });
});
