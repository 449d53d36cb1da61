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
    const { task, start } = setup();
    start('w1', 10);
    start('w1', 20); // failure and restart in one commit
    expect(task.attemptLog?.[0]).toMatchObject({ attempt: 1, endedAtMs: 20, outcome: 'ended' });
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
});
