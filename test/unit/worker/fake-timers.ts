import type { TimerHandle, Timers } from '../../../src/worker/timers.js';

/** Timers that fire only when the test advances time; they record whether they were weak. */
export class FakeTimers implements Timers {
  private nowMs = 0;
  private nextId = 1;
  private readonly due = new Map<number, { atMs: number; callback: () => void; weak: boolean }>();

  setTimeout(callback: () => void, ms: number, options?: { weak?: boolean }): TimerHandle {
    const id = this.nextId++;
    this.due.set(id, { atMs: this.nowMs + ms, callback, weak: options?.weak === true });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.due.delete(handle as number);
  }

  /** The fake's own time, for code that reads a monotonic clock beside these timers. */
  get now(): number {
    return this.nowMs;
  }

  /** Timers not yet fired or cleared. */
  get pending(): { inMs: number; weak: boolean }[] {
    return [...this.due.values()].map((t) => ({ inMs: t.atMs - this.nowMs, weak: t.weak }));
  }

  /** Moves time on, firing every timer due by then in order. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    // Bounded: each round fires (and removes) one timer, and callbacks add finitely many.
    for (let round = 0; round < 10_000; round++) {
      const next = [...this.due.entries()]
        .filter(([, t]) => t.atMs <= until)
        .sort((a, b) => a[1].atMs - b[1].atMs)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.nowMs = next[1].atMs;
      next[1].callback();
    }
    this.nowMs = until;
  }
}
