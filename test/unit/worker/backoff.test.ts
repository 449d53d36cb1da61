import { describe, expect, it } from 'vitest';
import {
  ReconnectSchedule,
  reconnectDelayMs,
  STABLE_STREAM_MS,
  STANDBY_RETRY_MAX_MS,
  STANDBY_WINDOW_MS,
  streamWasStable,
} from '../../../src/worker/backoff.js';
import { seededRandom } from '../../helpers/seeded-random.js';

const policy = { initialDelayMs: 100, maxDelayMs: 5_000, giveUpAfterMs: 60_000 };

describe('reconnectDelayMs', () => {
  it('joins at once after a good round, else backs off exponentially to the cap', () => {
    const top = (): number => 0.999999;
    expect(reconnectDelayMs(0, policy, top)).toBe(0);
    expect(reconnectDelayMs(1, policy, top)).toBeCloseTo(200, 0);
    expect(reconnectDelayMs(3, policy, top)).toBeCloseTo(800, 0);
    expect(reconnectDelayMs(10, policy, top)).toBeCloseTo(5_000, 0);
    expect(reconnectDelayMs(5000, policy, top)).toBeCloseTo(5_000, 0); // no overflow
    expect(reconnectDelayMs(3, policy, () => 0.5)).toBe(400); // full jitter
  });
});

describe('streamWasStable', () => {
  it('counts a stream that ended at once as a failure', () => {
    expect(streamWasStable(0)).toBe(false);
    expect(streamWasStable(STABLE_STREAM_MS - 1)).toBe(false);
    expect(streamWasStable(STABLE_STREAM_MS)).toBe(true);
  });
});

describe('ReconnectSchedule', () => {
  const halfway = (): number => 0.5;

  it('joins again at once after a stable stream, and backs off after failed rounds', () => {
    const schedule = new ReconnectSchedule(policy, 0, halfway);
    schedule.joined(10);
    schedule.streamEnded(10_000, 9_990);
    expect(schedule.next(10_000)).toEqual({ giveUp: false, delayMs: 0 });
    schedule.failed();
    expect(schedule.next(10_000)).toEqual({ giveUp: false, delayMs: 100 }); // half of 200
    schedule.failed();
    expect(schedule.next(10_000)).toEqual({ giveUp: false, delayMs: 200 });
    expect(schedule.failures).toBe(2);
    schedule.joined(10_100);
    schedule.streamEnded(10_100 + STABLE_STREAM_MS, STABLE_STREAM_MS);
    expect(schedule.failures).toBe(0);
  });

  it('counts a stream the leader ends at once as one more failure', () => {
    const schedule = new ReconnectSchedule(policy, 0, halfway);
    schedule.failed();
    schedule.joined(50);
    schedule.streamEnded(60, 10);
    expect(schedule.failures).toBe(2);
    expect(schedule.next(60)).toEqual({ giveUp: false, delayMs: 200 });
  });

  it('gives up only once no leader answered for more than giveUpAfterMs', () => {
    const schedule = new ReconnectSchedule(policy, 1_000, halfway);
    schedule.failed();
    expect(schedule.next(1_000 + policy.giveUpAfterMs).giveUp).toBe(false); // exactly at it
    expect(schedule.next(1_001 + policy.giveUpAfterMs)).toEqual({
      giveUp: true,
      silentMs: policy.giveUpAfterMs + 1,
    });
  });

  it('never waits past the give-up deadline, and gives up saying why the last round failed', () => {
    const schedule = new ReconnectSchedule(policy, 0, halfway);
    for (let i = 0; i < 5; i++) schedule.failed(false, 'a:1: connect ECONNREFUSED');
    const left = 120; // the backoff would be 1.6 s
    const step = schedule.next(policy.giveUpAfterMs - left);
    expect(step).toEqual({ giveUp: false, delayMs: left + 1 });
    schedule.failed(false, 'b:2: Protocol error');
    expect(schedule.next(policy.giveUpAfterMs + 1)).toEqual({
      giveUp: true,
      silentMs: policy.giveUpAfterMs + 1,
      lastFailure: 'b:2: Protocol error',
    });
  });

  it('moves the give-up deadline on every contact: a join, and a stream that ended', () => {
    const schedule = new ReconnectSchedule(policy, 0, halfway);
    schedule.joined(50_000);
    expect(schedule.next(50_000 + policy.giveUpAfterMs).giveUp).toBe(false);
    schedule.streamEnded(100_000, 50_000);
    expect(schedule.next(100_000 + policy.giveUpAfterMs).giveUp).toBe(false);
    expect(schedule.next(100_001 + policy.giveUpAfterMs).giveUp).toBe(true);
  });

  it('follows a hint at once, but never two hops in a row without a backoff wait', () => {
    let draws = 0;
    const schedule = new ReconnectSchedule(policy, 0, () => {
      draws++;
      return 0.5;
    });
    schedule.failed();
    expect(schedule.next(10, true)).toEqual({ giveUp: false, delayMs: 0 });
    expect(draws).toBe(0);
    schedule.failed(); // the hinted leader refused too, naming another
    expect(schedule.next(20, true)).toEqual({ giveUp: false, delayMs: 200 });
    schedule.failed();
    expect(schedule.next(30, true)).toEqual({ giveUp: false, delayMs: 0 }); // after a wait
    schedule.failed();
    expect(schedule.next(40, false)).toEqual({ giveUp: false, delayMs: 800 });
    schedule.failed();
    expect(schedule.next(50, true)).toEqual({ giveUp: false, delayMs: 0 });
  });

  it('gives up on time even when a hint would hop', () => {
    const schedule = new ReconnectSchedule(policy, 0, halfway);
    schedule.failed();
    expect(schedule.next(policy.giveUpAfterMs + 1, true)).toEqual({
      giveUp: true,
      silentMs: policy.giveUpAfterMs + 1,
    });
  });

  it('draws jitter from the injected source, and only when it backs off', () => {
    let draws = 0;
    const random = seededRandom(7);
    const schedule = new ReconnectSchedule(policy, 0, () => {
      draws++;
      return random();
    });
    expect(schedule.next(0)).toEqual({ giveUp: false, delayMs: 0 });
    expect(draws).toBe(0);
    for (let round = 1; round <= 12; round++) {
      schedule.failed();
      const step = schedule.next(0);
      const capMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** round);
      expect(step.giveUp).toBe(false);
      if (!step.giveUp) {
        expect(step.delayMs).toBeGreaterThanOrEqual(0);
        expect(step.delayMs).toBeLessThan(capMs);
      }
    }
    expect(draws).toBe(12);
  });
});

describe('ReconnectSchedule after a standby refused', () => {
  it('retries within STANDBY_RETRY_MAX_MS while standbys answer, and backs off fully once none has for a while', () => {
    const top = () => 0.999_999;
    const schedule = new ReconnectSchedule(policy, 0, top);
    for (let i = 0; i < 6; i++) schedule.failed(true);
    const soon = schedule.next(1_000);
    expect(soon).toEqual({ giveUp: false, delayMs: expect.closeTo(STANDBY_RETRY_MAX_MS, 0) });
    schedule.failed(false); // nobody answers for longer than the window: full backoff again
    expect(schedule.next(1_001 + STANDBY_WINDOW_MS)).toEqual({
      giveUp: false,
      delayMs: expect.closeTo(5_000, 0),
    });
  });

  it('still gives up on time when only standbys answer (no leader accepted)', () => {
    const schedule = new ReconnectSchedule(policy, 0, () => 0.5);
    schedule.failed(true);
    expect(schedule.next(60_001)).toEqual({ giveUp: true, silentMs: 60_001 });
  });

  it('keeps rounds short through every address while standbys answer, for a while', () => {
    const top = () => 0.999_999;
    const schedule = new ReconnectSchedule(policy, 0, top);
    for (let i = 0; i < 5; i++) schedule.failed(false); // a long outage: full backoff earned
    schedule.failed(true); // a standby answers, naming the old leader
    expect(schedule.next(1_000, true)).toEqual({ giveUp: false, delayMs: 0 }); // hop at once
    schedule.failed(false); // the named leader is dead
    const short = { giveUp: false, delayMs: expect.closeTo(STANDBY_RETRY_MAX_MS, 0) };
    expect(schedule.next(1_001)).toEqual(short);
    schedule.failed(false); // the next address of the list: unreachable too
    expect(schedule.next(1_000 + STANDBY_WINDOW_MS)).toEqual(short);
    schedule.failed(false);
    // No standby for longer than the window: an outage again, full backoff.
    expect(schedule.next(1_001 + STANDBY_WINDOW_MS)).toEqual({
      giveUp: false,
      delayMs: expect.closeTo(5_000, 0),
    });
  });
});
