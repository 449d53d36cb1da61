import pino from 'pino';
import { testCoordinatorOptions } from '../../helpers/coordinator-options.js';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator } from '../../../src/leader/coordinator.js';
import { MemoryTaskStore } from '../../../src/scheduler/store/memory-store.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';
import { taskRecord } from '../../helpers/task-record.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { ManualTimers } from '../../helpers/manual-timers.js';
import { RecordingChannel } from '../../helpers/recording-channel.js';

// The coordinator's periodic sweep and per-turn work, driven by hand: a fake clock and
// timers the test runs, so liveness, requeues and retries are tested without waiting.

const coordinators: Coordinator[] = [];
afterEach(() => {
  for (const c of coordinators.splice(0)) c.shutdown('test over');
});

async function setup() {
  const clock = new FakeClock();
  const timers = new ManualTimers();
  let next = 0;
  const coordinator = new Coordinator(
    {
      clock,
      ids: { taskId: () => `t${++next}`, token: () => 'token', secret: () => `s${++next}` },
      logger: pino({ level: 'silent' }),
      store: new MemoryTaskStore(),
      fail: () => undefined,
      timers,
    },
    testCoordinatorOptions(),
  );
  coordinators.push(coordinator);
  await coordinator.start();

  /** Joins a worker and opens its stream with one heartbeat. */
  const worker = (id: string) => {
    const { session } = coordinator.join({
      id: id as MemberId,
      address: '',
      instance: `${id}-1`,
      slots: 1,
      kinds: new Set(['default']),
    });
    const channel = new RecordingChannel();
    const streamId = coordinator.openStream(id as MemberId, session, channel);
    const beat = (first = false) =>
      coordinator.heartbeat(
        id as MemberId,
        streamId,
        { status: 'idle', draining: false, running: [] },
        first,
      );
    beat(true);
    return { channel, beat };
  };
  const state = (id: string) => coordinator.members().find((v) => v.member.id === id)?.member.state;
  return { clock, timers, coordinator, worker, state };
}

describe('Coordinator maintenance, by hand', () => {
  it('turns a silent member suspect, then dead, on the sweep, and gives its task to another', async () => {
    const { clock, timers, coordinator, worker, state } = await setup();
    const a = worker('a');
    await timers.settle();
    expect(state('a')).toBe('alive');

    const { task } = await coordinator.scheduleTask({ payload: 'p' });
    await timers.settle();
    expect(a.channel.starts.map((s) => s.taskId)).toEqual([task.id]);

    // Just under the suspect timeout nothing changes; at it, the sweep acts.
    clock.advance(1_999);
    timers.tick();
    expect(state('a')).toBe('alive');
    clock.advance(1);
    timers.tick();
    expect(state('a')).toBe('suspect');

    const b = worker('b');
    clock.advance(1_000);
    b.beat();
    timers.tick();
    await timers.settle();
    expect(state('a')).toBe('dead');
    // Its task went back to the head of the queue and on to the live member, attempt 2.
    expect(b.channel.starts).toEqual([expect.objectContaining({ taskId: task.id, attempt: 2 })]);
    expect(coordinator.getTask(task.id)).toMatchObject({ status: 'running', memberId: 'b' });
  });

  it('stops sweeping on shutdown', async () => {
    const { clock, timers, coordinator, worker, state } = await setup();
    worker('a');
    coordinator.shutdown('bye');
    clock.advance(10_000);
    timers.tick(); // the sweep was stopped: nothing to run
    expect(state('a')).toBe('alive');
  });
});

describe('Coordinator start with delayed tasks and pauses stored', () => {
  it('queues at once what fell due while no leader ran, sets the timer for the rest, and restores pauses', async () => {
    const clock = new FakeClock();
    const timers = new ManualTimers();
    const store = new MemoryTaskStore();
    const now = clock.nowMs();
    await store.save([
      taskRecord({ seq: 1, status: 'scheduled', queueSeq: 0, runAtMs: now - 5_000 }),
      taskRecord({ seq: 2, status: 'scheduled', queueSeq: 0, runAtMs: now + 7_000 }),
    ]);
    await store.saveControls([{ key: 'pause/kind/resize', value: '{"sinceMs":1}' }]);
    const coordinator = new Coordinator(
      {
        clock,
        ids: { taskId: () => 'x', token: () => 't', secret: () => 's' },
        logger: pino({ level: 'silent' }),
        store,
        fail: () => undefined,
        timers,
      },
      testCoordinatorOptions({ sweepIntervalMs: 60_000 }),
    );
    coordinators.push(coordinator);
    await coordinator.start();
    // No sweep has run (it is a minute away): start() itself promoted the overdue one.
    expect(coordinator.getTask('t1' as TaskId).status).toBe('pending');
    expect(coordinator.getTask('t2' as TaskId).status).toBe('scheduled');
    expect(timers.timerDelays).toEqual([7_000]);
    expect(coordinator.pauses.list()).toEqual([{ kind: 'resize', sinceMs: 1 }]);
  });
});
