import { describe, expect, it } from 'vitest';
import { AttemptExpiry } from '../../../../src/leader/maintenance/attempt-expiry.js';
import { asMemberId } from '../../../../src/shared/ids.js';
import { leaderParts, TIMING } from '../leader-parts.js';

const a = asMemberId('a');
const TIMEOUT = 500;

/** Worker a runs `count` tasks with a 500 ms timeout, started at `startMs`. */
async function setup(count = 1, maxAttempts = 3) {
  const parts = leaderParts();
  const expiry = new AttemptExpiry({
    ...{ scheduler: parts.scheduler, members: parts.members, commits: parts.commits },
    ...{ channels: parts.channels, assignment: parts.assignment, feed: parts.feed, log: parts.log },
  });
  const w = parts.worker('a', { slots: count });
  const specs = Array.from({ length: count }, () => ({ timeoutMs: TIMEOUT, maxAttempts }));
  const tasks = await parts.enqueue(...specs);
  await parts.timers.settle();
  expect(w.channel.starts).toHaveLength(count);
  return { ...parts, expiry, w, tasks, startMs: parts.clock.nowMs() };
}

describe('AttemptExpiry', () => {
  it('does nothing 1 ms before the deadline: no write, no round asked', async () => {
    const { expiry, store, timers, tasks, startMs, scheduler } = await setup();
    const writes = store.count();
    expiry.run(startMs + TIMEOUT - 1);
    expect(store.count()).toBe(writes);
    expect(timers.pending).toBe(0);
    expect(scheduler.get(tasks[0]!.id).status).toBe('running');
  });

  it('stops the attempt exactly at the deadline, telling the worker only once it is saved', async () => {
    const { expiry, store, timers, tasks, startMs, scheduler, w, worker, members } = await setup();
    const b = worker('b');
    await timers.settle();
    store.hold();
    expiry.run(startMs + TIMEOUT);
    const task = scheduler.get(tasks[0]!.id);
    expect(task).toMatchObject({ status: 'pending', attempt: 1, attemptEnded: true });
    expect(task.error).toBe(`attempt 1 timed out after ${TIMEOUT} ms`);
    await timers.settle();
    expect(w.channel.stops).toEqual([]);
    store.release();
    await timers.settle();
    expect(w.channel.stops).toEqual([
      {
        memberId: 'a',
        taskId: task.id,
        attempt: 1,
        reason: `attempt 1 timed out after ${TIMEOUT} ms`,
      },
    ]);
    // a's slot stays held until it reports the stop, and the retry waits for that too,
    // though b is free: two attempts of one task never run at once.
    expect(members.views().find((v) => v.member.id === 'a')).toMatchObject({
      slotsStopping: 1,
      slotsFree: 0,
    });
    expect(b.channel.starts).toEqual([]);
  });

  it('fails the task when the attempt that timed out was its last', async () => {
    const { expiry, timers, tasks, startMs, stored, w } = await setup(1, 1);
    expiry.run(startMs + TIMEOUT);
    await timers.settle();
    expect(await stored(tasks[0]!.id)).toMatchObject({ status: 'error', attempt: 1 });
    expect(w.channel.stops).toHaveLength(1);
    expect(w.channel.starts).toHaveLength(1);
  });

  it('holds each timeout against the member: enough in a row quarantine it', async () => {
    const n = TIMING.quarantineAfterFailures;
    const { expiry, membership, timers, startMs, enqueue, w, tasks, commands, members, worker } =
      await setup(n, 1);
    worker('b', { kinds: ['other'] }); // alive, so holding 'a' leaves half the cluster
    expiry.run(startMs + TIMEOUT);
    expect(membership.get(a)!.quarantine?.reason).toBe(`${n} attempts in a row failed on it`);
    // It reports the stopped attempts (refused as timed out): its slots are free again...
    for (const task of tasks) {
      await expect(commands.complete({ taskId: task.id, attempt: 1, memberId: a })).rejects.toThrow(
        /timed out/,
      );
    }
    expect(members.views()[0]).toMatchObject({ slotsFree: n, slotsStopping: 0 });
    // ...but a quarantined member gets no new work.
    await enqueue({});
    await timers.settle();
    expect(w.channel.starts).toHaveLength(TIMING.quarantineAfterFailures);
  });
});
