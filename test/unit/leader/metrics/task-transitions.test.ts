import { describe, expect, it } from 'vitest';
import {
  TaskTransitions,
  type TaskTransition,
} from '../../../../src/leader/metrics/task-transitions.js';
import { taskRecord } from '../../../helpers/task-record.js';

function setup() {
  const transitions = new TaskTransitions();
  const seen: string[] = [];
  const emit = (t: TaskTransition) =>
    seen.push(t.what === 'finished' ? `finished:${t.status}` : t.what);
  return { transitions, seen, emit };
}

describe('TaskTransitions', () => {
  it('counts each step of a task once, however often it is saved', () => {
    const { transitions, seen, emit } = setup();
    const task = taskRecord();
    transitions.observe(task, emit);
    transitions.observe(task, emit); // saved again unchanged
    task.status = 'running';
    task.attempt = 1;
    transitions.observe(task, emit);
    transitions.observe(task, emit); // a re-attach saves it running again
    task.status = 'pending';
    task.attemptEnded = true;
    transitions.observe(task, emit);
    task.status = 'running';
    task.attempt = 2;
    transitions.observe(task, emit);
    task.status = 'completed';
    transitions.observe(task, emit);
    expect(seen).toEqual(['scheduled', 'started', 'retrying', 'started', 'finished:completed']);
  });

  it('tells an attempt handed back unstarted from a lost worker’s requeue, a re-attach and a retry', () => {
    const { transitions, seen, emit } = setup();
    const task = taskRecord({ seq: 1, status: 'running', attempt: 1, memberId: 'a' as never });
    transitions.know(task);
    task.status = 'pending'; // its worker was lost: requeued, member kept
    transitions.observe(task, emit);
    task.status = 'running'; // and back: it re-attached the attempt
    transitions.observe(task, emit);
    task.status = 'pending'; // lost again, and started anew elsewhere
    transitions.observe(task, emit);
    task.status = 'running';
    task.attempt = 2;
    transitions.observe(task, emit);
    task.status = 'pending'; // handed back: no member
    task.memberId = undefined;
    transitions.observe(task, emit);
    expect(seen).toEqual(['lost', 'resumed', 'lost', 'started', 'unstarted']);
  });

  it('a failure and the next start saved in one commit (no backoff) is a retry, then a start', () => {
    const { transitions, seen, emit } = setup();
    const retried: (number | undefined)[] = [];
    const task = taskRecord({ seq: 1, status: 'running', attempt: 1, memberId: 'a' as never });
    transitions.know(task);
    task.attempt = 2; // attempt 1 failed and attempt 2 started before the commit
    transitions.observe(task, (t) => {
      emit(t);
      if (t.what === 'retrying') retried.push(t.attempt);
    });
    task.handedBackAttempt = 2; // handed back unstarted and started again: no failure
    task.attempt = 3;
    transitions.observe(task, emit);
    expect(seen).toEqual(['retrying', 'started', 'started']);
    expect(retried).toEqual([1]);
  });

  it('a task scheduled and started in one commit is both; a restored one is neither', () => {
    const { transitions, seen, emit } = setup();
    const fresh = taskRecord({ seq: 1, status: 'running', attempt: 1 });
    transitions.observe(fresh, emit);
    const restored = taskRecord({ seq: 2, status: 'running', attempt: 1 });
    transitions.know(restored);
    restored.status = 'completed';
    transitions.observe(restored, emit);
    expect(seen).toEqual(['scheduled', 'started', 'finished:completed']);
  });
});
