import { describe, expect, it } from 'vitest';
import { SilenceWatch, type SilenceWatchDeps } from '../../../src/client/silence-watch.js';

/** A clock moved by hand and one-shot timers fired when it passes them. */
function fakeTime() {
  let nowMs = 0;
  const timers = new Set<{ atMs: number; fn: () => void }>();
  const deps: SilenceWatchDeps = {
    nowMs: () => nowMs,
    after: (ms, fn) => {
      const timer = { atMs: nowMs + ms, fn };
      timers.add(timer);
      return () => timers.delete(timer);
    },
  };
  const advanceTo = (ms: number): void => {
    nowMs = ms;
    // Bounded: each pass fires what is due; a timer set by one fires on a later pass.
    for (let pass = 0; pass < 10; pass++) {
      const due = [...timers].filter((t) => t.atMs <= nowMs);
      if (due.length === 0) return;
      for (const t of due) {
        timers.delete(t);
        t.fn();
      }
    }
  };
  return { deps, advanceTo, timers };
}

describe('SilenceWatch', () => {
  it('fires when the oldest unanswered request has waited the timeout, not before', () => {
    const { deps, advanceTo } = fakeTime();
    const sent: number[] = [];
    let silences = 0;
    // As the producer does: the stream is given up, and with it every answer it owed.
    const giveUp = (): void => {
      silences++;
      sent.length = 0;
    };
    const watch = new SilenceWatch(1_000, () => sent[0], giveUp, deps);
    sent.push(0);
    watch.watch();
    advanceTo(400);
    sent.push(400);
    watch.watch();
    advanceTo(999);
    expect(silences).toBe(0);
    advanceTo(1_000);
    expect(silences).toBe(1);
  });

  it('moves on to the next oldest when the oldest is answered in time', () => {
    const { deps, advanceTo } = fakeTime();
    const sent: number[] = [0];
    let silences = 0;
    // As the producer does: the stream is given up, and with it every answer it owed.
    const giveUp = (): void => {
      silences++;
      sent.length = 0;
    };
    const watch = new SilenceWatch(1_000, () => sent[0], giveUp, deps);
    watch.watch();
    advanceTo(300);
    sent.push(300);
    advanceTo(900);
    sent.shift(); // the first is answered; the one sent at 300 is now the oldest
    advanceTo(1_000); // the timer for the first fires and re-arms for 1,300
    expect(silences).toBe(0);
    advanceTo(1_299);
    expect(silences).toBe(0);
    advanceTo(1_300);
    expect(silences).toBe(1);
  });

  it('sets no timer while nothing is owed, and stop() cancels it', () => {
    const { deps, timers } = fakeTime();
    const sent: number[] = [];
    const watch = new SilenceWatch(
      1_000,
      () => sent[0],
      () => undefined,
      deps,
    );
    watch.watch();
    expect(timers.size).toBe(0);
    sent.push(0);
    watch.watch();
    watch.watch();
    expect(timers.size).toBe(1);
    watch.stop();
    expect(timers.size).toBe(0);
  });
});
