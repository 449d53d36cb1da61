import { describe, expect, it } from 'vitest';
import {
  checkTaskTransition,
  InvalidTaskTransitionError,
  TASK_TRANSITIONS,
  type TaskStatus,
} from '../../../src/scheduler/task.js';

const ALL: TaskStatus[] = ['scheduled', 'pending', 'running', 'completed', 'cancelled', 'error'];

describe('task status transitions', () => {
  // Every pair, against the table written out again here: a change to either is a decision.
  const allowed = new Set([
    'scheduled>pending',
    'scheduled>cancelled',
    'scheduled>running',
    'pending>running',
    'pending>cancelled',
    'pending>completed',
    'pending>error',
    'running>completed',
    'running>error',
    'running>cancelled',
    'running>pending',
    'running>scheduled',
    'error>pending',
  ]);
  for (const from of ALL) {
    for (const to of ALL) {
      const ok = from === to || allowed.has(`${from}>${to}`);
      it(`${from} -> ${to}: ${ok ? 'allowed' : 'refused'}`, () => {
        if (ok) expect(() => checkTaskTransition(from, to)).not.toThrow();
        else expect(() => checkTaskTransition(from, to)).toThrow(InvalidTaskTransitionError);
      });
    }
  }

  it("lets nothing leave a final status but an operator's re-run of a failed task", () => {
    for (const status of ['completed', 'cancelled'] as const) {
      expect(TASK_TRANSITIONS[status]).toEqual([]);
    }
    expect(TASK_TRANSITIONS.error).toEqual(['pending']);
  });
});
