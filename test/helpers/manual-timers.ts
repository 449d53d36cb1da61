import type { LeaderTimers } from '../../src/leader/leader-timers.js';

/**
 * Leader timers the test fires by hand: the periodic job on tick(), deferred work (one
 * event-loop turn of it) on runTurn(), or everything until quiet on settle().
 */
export class ManualTimers implements LeaderTimers {
  private periodic: (() => void) | undefined;
  private readonly deferred: (() => void)[] = [];
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
