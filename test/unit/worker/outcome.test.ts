import { describe, expect, it } from 'vitest';
import {
  boundResult,
  returnedOutcome,
  stoppedOutcome,
  thrownOutcome,
  unresponsiveOutcome,
} from '../../../src/worker/outcome.js';
import { PermanentTaskError, TaskError, TaskStoppedError } from '../../../src/worker/task-error.js';

const ctx = { id: 't', attempt: 2, resultLimitBytes: 10 };

describe('returnedOutcome', () => {
  it('reports a string as the result, nothing as no result, any other value as its JSON', () => {
    const wide = { ...ctx, resultLimitBytes: 100 };
    expect(returnedOutcome(ctx, 'done')).toEqual({ id: 't', attempt: 2, result: 'done' });
    expect(returnedOutcome(ctx, undefined)).toEqual({ id: 't', attempt: 2 });
    expect(returnedOutcome(ctx, null)).toEqual({ id: 't', attempt: 2 });
    expect(returnedOutcome(wide, { n: 1 })).toEqual({ id: 't', attempt: 2, result: '{"n":1}' });
    expect(returnedOutcome(wide, 42).result).toBe('42');
    expect(returnedOutcome(wide, false).result).toBe('false');
    // No JSON: a failure that says what to do, never a silently empty result.
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    for (const [value, what] of [
      [cycle, 'an object'],
      [10n, 'a bigint'],
      [() => 1, 'a function'],
    ] as const) {
      expect(returnedOutcome(wide, value)).toEqual({
        id: 't',
        attempt: 2,
        error: `the handler returned ${what} that cannot be written as JSON; return a string`,
        permanent: true,
      });
    }
  });

  it('takes a result of exactly the limit, and fails one byte over it for good', () => {
    expect(returnedOutcome(ctx, 'x'.repeat(10)).error).toBeUndefined();
    expect(returnedOutcome(ctx, 'ééééé').error).toBeUndefined(); // 10 bytes
    expect(returnedOutcome(ctx, 'x'.repeat(11))).toEqual({
      id: 't',
      attempt: 2,
      result: 'x'.repeat(10) + '\n[result truncated on the worker at 10 of 11 bytes]',
      error:
        "result too large: 11 bytes of UTF-8, over this worker's limit of 10 " +
        '(--result-limit-bytes, SDK option resultLimitBytes); its first bytes are kept',
      permanent: true,
    });
  });
});

describe('boundResult', () => {
  it('counts UTF-8 bytes, not characters', () => {
    expect(boundResult('éééééé', 10)).toEqual({
      text: 'ééééé\n[result truncated on the worker at 10 of 12 bytes]',
      cutFromBytes: 12,
    });
  });
});

describe('thrownOutcome', () => {
  it('fails with the message, keeps a TaskError’s (bounded) output, and marks permanence', () => {
    expect(thrownOutcome(ctx, new TaskError('exit 1', 'out'))).toEqual({
      id: 't',
      attempt: 2,
      error: 'exit 1',
      result: 'out',
      permanent: false,
    });
    expect(thrownOutcome(ctx, new PermanentTaskError('bad')).permanent).toBe(true);
    expect(thrownOutcome(ctx, new TaskError('x', 'y'.repeat(50))).result).toBe(
      'y'.repeat(10) + '\n[result truncated on the worker at 10 of 50 bytes]',
    );
    expect(thrownOutcome(ctx, Object.create(null)).error).toBe(
      'the handler threw an object without prototype: {}',
    );
  });

  it('reports the stop, not the handler’s error, once the attempt was stopped', () => {
    const outcome = thrownOutcome(
      ctx,
      new PermanentTaskError('aborted'),
      new TaskStoppedError('cancelled'),
    );
    expect(outcome).toMatchObject({ error: 'stopped: cancelled', permanent: false });
    expect(stoppedOutcome(ctx, new TaskStoppedError('timeout'))).toEqual({
      id: 't',
      attempt: 2,
      error: 'stopped: timeout',
    });
  });
});

describe('unresponsiveOutcome', () => {
  it('says the handler did not stop and the slot was freed', () => {
    expect(unresponsiveOutcome(ctx, new TaskStoppedError('cancelled'), 250).error).toBe(
      'stopped: cancelled; the handler did not stop within 250 ms (--stop-grace-ms, SDK option stopGraceMs), ' +
        'so the worker gave up on it and freed its slot',
    );
  });
});
