import { describe, expect, it } from 'vitest';
import { MAX_ATTEMPT_ENTRIES, recordAttempt } from '../../../src/leader/attempt-log.js';
import { TaskTransitions } from '../../../src/leader/metrics/task-transitions.js';
import type { MemberId } from '../../../src/shared/ids.js';
import { taskRecord } from '../../helpers/task-record.js';

// The attempt log is built from the steps saved records make (as the leader feeds it).

function setup() {
  const transitions = new TaskTransitions();
  const task = taskRecord();
  const save = (nowMs: number) => transitions.observe(task, (t) => recordAttempt(t, nowMs));
  const start = (member: string, nowMs: number) => {
    task.status = 'running';
    task.attempt++;
    task.memberId = member as MemberId;
    task.startedAtMs = nowMs;
    task.error = undefined;
    save(nowMs);
  };
  return { task, save, start };
}

describe('attempt log', () => {
  it('records each attempt: member, start, end, outcome and error', () => {
    const { task, save, start } = setup();
    save(0);
    start('w1', 10);
    task.status = 'pending';
    task.attemptEnded = true;
    task.error = 'boom';
    save(25);
    start('w2', 40);
    save(41); // saved again unchanged (a re-attach): nothing new
    task.status = 'completed';
    task.finishedAtMs = 70;
    task.result = 'ok';
    save(70);
    expect(task.attemptLog).toEqual([
      {
        attempt: 1,
        memberId: 'w1',
        startedAtMs: 10,
        endedAtMs: 25,
        outcome: 'retried',
        error: 'boom',
      },
      {
        attempt: 2,
        memberId: 'w2',
        startedAtMs: 40,
        endedAtMs: 70,
        outcome: 'completed',
        error: undefined,
      },
    ]);
  });

  it('closes an attempt whose end was saved with the next start, and keeps the latest entries', () => {
    const { task, save, start } = setup();
    start('w1', 10);
    // Failure and restart in one commit (no backoff): the task's error is attempt 1's
    // until attempt 2 ends, and the record shows attempt 2 running.
    task.error = 'boom';
    task.attempt = 2;
    task.startedAtMs = 20;
    save(20);
    expect(task.attemptLog?.[0]).toMatchObject({
      attempt: 1,
      endedAtMs: 20,
      outcome: 'retried',
      error: 'boom',
    });
    expect(task.attemptLog?.[1]?.attempt).toBe(2);
    expect(task.attemptLog?.[1]?.endedAtMs).toBeUndefined();
    task.handedBackAttempt = 2; // handed back unstarted, and restarted in one commit
    start('w2', 25);
    expect(task.attemptLog?.[1]).toMatchObject({ attempt: 2, outcome: 'not started' });
    for (let i = 0; i < MAX_ATTEMPT_ENTRIES + 5; i++) start('w1', 30 + i);
    expect(task.attemptLog).toHaveLength(MAX_ATTEMPT_ENTRIES);
    expect(task.attemptLog?.at(-1)?.attempt).toBe(task.attempt);
  });

  it('marks a running attempt cancelled with the task', () => {
    const { task, save, start } = setup();
    start('w1', 10);
    task.status = 'cancelled';
    task.finishedAtMs = 15;
    save(15);
    expect(task.attemptLog).toEqual([
      {
        attempt: 1,
        memberId: 'w1',
        startedAtMs: 10,
        endedAtMs: 15,
        outcome: 'cancelled',
        error: undefined,
      },
    ]);
  });

  it('marks a timed start whose worker was lost before its run time as not started', () => {
    const { task, save, start } = setup();
    save(0);
    Object.assign(task, { runAtMs: 1_000 });
    start('w1', 1_000); // handed out ahead: its start time is its run time
    task.status = 'scheduled'; // w1 lost at 950: waiting for the run time again
    save(950);
    start('w2', 1_000);
    expect(task.attemptLog?.map((e) => [e.attempt, e.memberId, e.outcome])).toEqual([
      [1, 'w1', 'not started'],
      [2, 'w2', undefined],
    ]);
  });

  /** The worker of the running attempt is lost at `nowMs`: requeued, attempt and member kept. */
  function lose(ctx: ReturnType<typeof setup>, nowMs: number, error: string) {
    ctx.task.status = 'pending';
    ctx.task.error = error;
    ctx.save(nowMs);
  }

  it('closes an attempt when its worker is lost, not when the next one starts', () => {
    const ctx = setup();
    const { task, start } = ctx;
    start('w1', 10);
    lose(ctx, 3_010, 'member w1 stopped heartbeating during attempt 1');
    expect(task.attemptLog?.[0]).toMatchObject({
      endedAtMs: 3_010,
      outcome: 'lost',
      error: 'member w1 stopped heartbeating during attempt 1',
    });
    start('w2', 9_000);
    expect(task.attemptLog?.map((e) => [e.attempt, e.endedAtMs, e.outcome])).toEqual([
      [1, 3_010, 'lost'],
      [2, undefined, undefined],
    ]);
  });

  it('a loss and the next start saved in one commit: the lost attempt ends when the loss was known', () => {
    const { task, start } = setup();
    start('w1', 10);
    const error = 'member w1 was lost (stream closed) during attempt 1';
    task.lostAttempt = { attempt: 1, atMs: 500, error };
    start('w2', 500);
    expect(task.attemptLog?.map((e) => [e.memberId, e.endedAtMs, e.outcome, e.error])).toEqual([
      ['w1', 500, 'lost', error],
      ['w2', undefined, undefined, undefined],
    ]);
  });

  it('keeps a lost attempt lost when the task then fails out of attempts or is cancelled', () => {
    const ctx = setup();
    const { task, save, start } = ctx;
    start('w1', 10);
    const error = 'member w1 was lost (stream closed) during attempt 1';
    task.lostAttempt = { attempt: 1, atMs: 500, error };
    lose(ctx, 500, error);
    Object.assign(task, {
      status: 'error',
      finishedAtMs: 3_500,
      error: `${error}; no attempts left`,
    });
    save(3_500);
    expect(task.attemptLog).toEqual([
      {
        attempt: 1,
        memberId: 'w1',
        startedAtMs: 10,
        endedAtMs: 500,
        outcome: 'lost',
        error,
        byLoss: true,
      },
    ]);
  });

  it('keeps when each attempt was heard to begin once the next one starts', () => {
    const { task, start } = setup();
    start('w1', 10);
    Object.assign(task, { begunAttempt: 1, begunAtMs: 14 });
    start('w1', 20);
    expect(task.attemptLog?.map((e) => [e.attempt, e.begunAtMs])).toEqual([
      [1, 14],
      [2, undefined],
    ]);
  });

  it('says not started for a loss before the attempt began (not counted)', () => {
    const ctx = setup();
    ctx.start('w1', 10);
    ctx.task.uncountedLossAttempt = 1;
    lose(ctx, 40, 'member w1 left before it began attempt 1 (not counted)');
    expect(ctx.task.attemptLog?.[0]).toMatchObject({ endedAtMs: 40, outcome: 'not started' });
  });

  it('reopens a lost attempt its worker re-attaches, and ends it by a late report', () => {
    const ctx = setup();
    const { task, save, start } = ctx;
    start('w1', 10);
    lose(ctx, 3_010, 'member w1 stopped heartbeating during attempt 1');
    task.status = 'running'; // w1 back: it re-attaches attempt 1
    task.error = undefined;
    save(3_200);
    expect(task.attemptLog).toEqual([{ attempt: 1, memberId: 'w1', startedAtMs: 10 }]);
    lose(ctx, 6_000, 'member w1 stopped heartbeating during attempt 1');
    // Its report arrives after all (before anyone else started it): that is how it ended.
    Object.assign(task, { status: 'completed', finishedAtMs: 6_100, error: undefined });
    save(6_100);
    expect(task.attemptLog).toEqual([
      {
        attempt: 1,
        memberId: 'w1',
        startedAtMs: 10,
        endedAtMs: 6_100,
        outcome: 'completed',
        error: undefined,
      },
    ]);
  });
});
