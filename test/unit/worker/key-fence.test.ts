import { describe, expect, it } from 'vitest';
import { KeyFence } from '../../../src/worker/key-fence.js';
import { FakeTimers } from './fake-timers.js';

function setup() {
  const timers = new FakeTimers();
  const fenced: string[] = [];
  const fence = new KeyFence({
    monotonicMs: () => timers.now,
    timers,
    fence: (reason) => fenced.push(reason),
  });
  return { timers, fenced, fence };
}

describe('KeyFence', () => {
  it('fences fenceAfterMs after the send time of the last heartbeat the leader echoed', () => {
    const { timers, fenced, fence } = setup();
    fence.streamOpened(2_250);
    const first = fence.nextSend(); // sent at 0
    timers.advance(40);
    fence.heard(first); // the echo arrives 40 ms later: the proof is the send time, 0
    expect(fence.deadlineMs).toBe(2_250);
    timers.advance(2_209);
    expect(fenced).toEqual([]);
    timers.advance(1);
    expect(fenced).toHaveLength(1);
    expect(fenced[0]).toMatch(/^fenced: the leader has not been shown to hear this worker/);
    expect(fence.allowsKeyed()).toBe(false);
  });

  it('refuses keyed starts past the deadline, even when an answer proves nothing newer', () => {
    const { timers, fence } = setup();
    fence.streamOpened(1_000);
    const first = fence.nextSend();
    const second = fence.nextSend();
    fence.heard(second);
    expect(fence.allowsKeyed()).toBe(true);
    timers.advance(1_200); // frozen past the deadline; then a message that waited arrives
    fence.heard(first); // an older serial: no newer proof
    expect(fence.allowsKeyed()).toBe(false);
    fence.heard(fence.nextSend()); // a fresh echo: allowed again
    expect(fence.allowsKeyed()).toBe(true);
  });

  it('moves the deadline on with every newer echo, with one timer, and never back', () => {
    const { timers, fenced, fence } = setup();
    fence.streamOpened(1_000);
    const a = fence.nextSend();
    timers.advance(500);
    const b = fence.nextSend(); // sent at 500
    fence.heard(b);
    fence.heard(a); // late, older: proves less, changes nothing
    expect(fence.deadlineMs).toBe(1_500);
    expect(timers.pending).toHaveLength(1);
    timers.advance(999); // at 1499
    expect(fenced).toEqual([]);
    timers.advance(1);
    expect(fenced).toHaveLength(1);
  });

  it('keeps the last proof across streams: a new stream alone proves nothing', () => {
    const { timers, fenced, fence } = setup();
    fence.streamOpened(1_000);
    fence.heard(fence.nextSend());
    timers.advance(600);
    fence.streamOpened(1_000); // reconnected; serials start again
    fence.nextSend();
    timers.advance(400);
    expect(fenced).toHaveLength(1);
  });

  it('an older leader (fence_after_ms 0, no echo) fences nothing', () => {
    const { timers, fenced, fence } = setup();
    fence.streamOpened(0);
    fence.heard(fence.nextSend());
    fence.heard(0);
    timers.advance(1_000_000);
    expect(fenced).toEqual([]);
    expect(fence.deadlineMs).toBeUndefined();
    expect(fence.allowsKeyed()).toBe(true);
  });
});
