import type { LeaderTimers } from '../../src/leader/leader-timers.js';

/**
 * Leader timers the test fires by hand: the periodic job on tick(), one-shot timers on
 * fireTimers(), deferred work (one event-loop turn of it) on runTurn(), or everything
 * until quiet on settle().
 */
export class ManualTimers implements LeaderTimers {
  private periodic: (() => void) | undefined;
  private readonly deferred: (() => void)[] = [];
  private readonly oneShots = new Set<{ readonly ms: number; readonly fn: () => void }>();
  /** The interval the periodic job was started with, if one runs. */
  intervalMs: number | undefined;

  every(ms: number, fn: () => void): () => void {
    this.periodic = fn;
    this.intervalMs = ms;
    return () => {
      if (this.periodic !== fn) return;
      this.periodic = undefined;
      this.intervalMs = undefined;
    };
  }

  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  after(ms: number, fn: () => void): () => void {
    const shot = { ms, fn };
    this.oneShots.add(shot);
    return () => this.oneShots.delete(shot);
  }

  /** The delays of the one-shot timers set and not yet fired or cancelled, in order set. */
  get timerDelays(): number[] {
    return [...this.oneShots].map((shot) => shot.ms);
  }

  /** Fires every one-shot timer set so far (the test has moved the clock as it likes). */
  fireTimers(): number {
    const shots = [...this.oneShots];
    this.oneShots.clear();
    for (const shot of shots) shot.fn();
    return shots.length;
  }

  /** Number of functions waiting for the next turn. */
  get pending(): number {
    return this.deferred.length;
  }

  /** Runs the periodic job once, if one runs. */
  tick(): void {
    this.periodic?.();
  }

  /** Runs what was deferred so far (one turn); work deferred by it waits for the next. */
  runTurn(): number {
    const work = this.deferred.splice(0);
    for (const fn of work) fn();
    return work.length;
  }

  /** Lets store writes land and runs deferred work, turn after turn until quiet (bounded). */
  async settle(): Promise<void> {
    for (let round = 0; round < 20; round++) {
      await nextTurn();
      if (this.runTurn() === 0) return;
    }
    throw new Error('deferred work still pending after 20 turns');
  }
}

/** Lets every settled promise's continuations run (one macrotask); runs no deferred work. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
