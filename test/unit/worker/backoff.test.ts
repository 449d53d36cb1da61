import { describe, expect, it } from 'vitest';
import {
  reconnectDelayMs,
  STABLE_STREAM_MS,
  streamWasStable,
} from '../../../src/worker/backoff.js';

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
