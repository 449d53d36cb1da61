import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../../../src/worker/outcome.js';
import { TaskRunner } from '../../../src/worker/runner.js';
import { StartTimes } from '../../../src/worker/start-times.js';
import { FakeTimers } from './fake-timers.js';

/** Lets promise callbacks and p-queue run (the fake timers do not move). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A runner whose handler records the fake time it was called at. */
function setup() {
  const timers = new FakeTimers();
  const calledAt: number[] = [];
  const reports: AttemptOutcome[] = [];
  const tasks = new TaskRunner({
    slots: 1,
    handlers: new Map([['default', () => void calledAt.push(timers.now)]]),
    report: (outcome) => {
      reports.push(outcome);
      return Promise.resolve();
    },
    logger: pino({ level: 'silent' }),
    timers,
    nowMs: () => timers.now,
  });
  return { timers, tasks, calledAt, reports };
}

describe('TaskRunner: timed starts (start_in_ms)', () => {
  it('waits out the start time before the handler runs, listed as running meanwhile', async () => {
    const { timers, tasks, calledAt, reports } = setup();
    tasks.start({ id: 'd', attempt: 1, kind: 'default', payload: '', startInMs: 40 });
    await flush();
    expect(calledAt).toEqual([]);
    // Listed, so a re-attach after a reconnect keeps it; it holds no slot yet.
    expect(tasks.running).toEqual([{ id: 'd', attempt: 1 }]);
    expect(tasks.freeSlots).toBe(1);
    timers.advance(39);
    await flush();
    expect(calledAt).toEqual([]);
    timers.advance(1);
    await flush();
    expect(calledAt).toEqual([40]);
    expect(reports).toEqual([{ id: 'd', attempt: 1 }]);
  });

  it('a stop before the start time reports the stop at once and never runs the handler', async () => {
    const { timers, tasks, calledAt, reports } = setup();
    tasks.start({ id: 'd', attempt: 1, kind: 'default', payload: '', startInMs: 40 });
    tasks.stop('d', 1, 'cancelled');
    await flush();
    expect(reports).toMatchObject([
      { id: 'd', attempt: 1, error: expect.stringContaining('cancelled') },
    ]);
    timers.advance(100);
    await flush();
    expect(calledAt).toEqual([]);
    expect(timers.pending).toEqual([]);
  });

  it('a stop read after the start time came, but before the deferred start ran, still wins', async () => {
    // A worker resumed from SIGSTOP past the run time: the timer phase fires the start, and
    // the poll phase after it reads the leader's cancel; the start waits for the check phase.
    const { timers, tasks, calledAt, reports } = setup();
    tasks.start({ id: 'd', attempt: 1, kind: 'default', payload: '', startInMs: 40 });
    timers.advance(40);
    tasks.stop('d', 1, 'cancelled');
    await flush();
    expect(calledAt).toEqual([]);
    expect(reports).toMatchObject([{ id: 'd', error: expect.stringContaining('cancelled') }]);
  });

  it("checks a timed start against the worker's fence as it starts: past it, it starts stopped", async () => {
    const { timers, tasks, calledAt, reports } = setup();
    const fence: { reason?: string } = {};
    tasks.gateKeyed(() => fence.reason);
    tasks.start({ id: 'd', attempt: 1, kind: 'default', payload: '', startInMs: 40 });
    fence.reason = 'the leader has not heard this worker for 2700 ms';
    timers.advance(40);
    await flush();
    expect(calledAt).toEqual([]);
    expect(reports).toMatchObject([{ id: 'd', error: expect.stringContaining('2700 ms') }]);
  });

  it('a timer that fires before the clock says the time has come waits out the rest', () => {
    // Node measures a timer from the event loop's cached time, which lags the clock by as
    // long as the current turn has run (3 ms here when the wait begins).
    const timers = new FakeTimers();
    let lagMs = 3;
    const clock = () => timers.now + lagMs;
    const started: number[] = [];
    const times = new StartTimes(timers, clock, (start) => start());
    times.wait('a', 10, () => started.push(clock()));
    lagMs = 0;
    timers.advance(10);
    expect(started).toEqual([]);
    expect(times.size).toBe(1);
    timers.advance(3);
    expect(started).toEqual([13]);
    expect(times.size).toBe(0);
  });
});
