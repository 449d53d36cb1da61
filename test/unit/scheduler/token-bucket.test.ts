import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../../src/scheduler/token-bucket.js';

describe('TokenBucket', () => {
  it('with burst 1, never allows more than count starts in any window of the interval', () => {
    const bucket = new TokenBucket({ count: 3, intervalMs: 1000, burst: 1 }, 0);
    const starts: number[] = [];
    let now = 0;
    for (let i = 0; i < 30; i++) {
      now = Math.max(now, bucket.nextTokenAtMs());
      expect(bucket.hasTokenAt(now)).toBe(true);
      expect(bucket.hasTokenAt(now - 1)).toBe(i === 0);
      bucket.take(now);
      starts.push(now);
    }
    for (let i = 0; i + 3 < starts.length; i++)
      expect(starts[i + 3]! - starts[i]!).toBeGreaterThanOrEqual(1000);
    expect(starts.slice(0, 4)).toEqual([0, 334, 667, 1000]);
  });

  it('refills to full and no further, and says when the next token comes', () => {
    const bucket = new TokenBucket({ count: 2, intervalMs: 100, burst: 2 }, 0);
    bucket.take(0);
    expect(bucket.hasTokenAt(0)).toBe(true);
    bucket.take(0);
    expect(bucket.hasTokenAt(0)).toBe(false);
    expect(bucket.nextTokenAtMs()).toBe(50);
    expect(bucket.fullAt(10_000)).toBe(true);
    bucket.take(10_000);
    bucket.take(10_000);
    expect(bucket.hasTokenAt(10_000)).toBe(false);
    expect(bucket.nextTokenAtMs()).toBe(10_050);
  });
});
