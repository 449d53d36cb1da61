import { describe, expect, it } from 'vitest';
import { RunningAttempt } from '../../../src/worker/running-attempt.js';

describe('RunningAttempt', () => {
  it('aborts a signal made before the stop, with the stop reason', () => {
    const attempt = new RunningAttempt('t1', 2);
    const signal = attempt.signal;
    expect(signal.aborted).toBe(false);
    const reason = new Error('cancelled');
    attempt.stop(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);
    expect(attempt.stopped).toBe(true);
  });

  it('gives a signal asked for after the stop already aborted', () => {
    const attempt = new RunningAttempt('t1', 2);
    const reason = new Error('timed out');
    attempt.stop(reason);
    expect(attempt.signal.aborted).toBe(true);
    expect(attempt.signal.reason).toBe(reason);
  });

  it('keeps the first stop and tells its listener once', () => {
    const attempt = new RunningAttempt('t1', 2);
    let heard = 0;
    attempt.whenStopped(() => heard++);
    attempt.stop('first');
    attempt.stop('second');
    expect(heard).toBe(1);
    expect(attempt.reason).toBe('first');
  });

  it('tells a listener that was forgotten nothing', () => {
    const attempt = new RunningAttempt('t1', 2);
    let heard = 0;
    const forget = attempt.whenStopped(() => heard++);
    forget();
    attempt.stop('x');
    expect(heard).toBe(0);
  });

  it('keys the attempt by task id and attempt number', () => {
    expect(new RunningAttempt('t1', 2).key).toBe(new RunningAttempt('t1', 2).key);
    expect(new RunningAttempt('t1', 2).key).not.toBe(new RunningAttempt('t1', 3).key);
  });
});
