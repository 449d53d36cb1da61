import type { TimerHandle, Timers } from './timers.js';

/**
 * Attempts handed over ahead of their run time (timed starts: StartWorkRequest.start_in_ms),
 * each waiting for its own timer. Node measures a timer from the event loop's cached time,
 * which lags the real time by however long the current turn has run, so a timer may fire
 * that much early: each checks the clock as it fires and waits out the rest, so a task never
 * starts before its wait is over. A due attempt starts on the loop's next check phase
 * (`defer`, setImmediate), after the poll phase has read what the leader sent: a process
 * resumed from SIGSTOP past the run time reads a cancel or stop sent meanwhile before the
 * attempt starts, not after.
 */
export class StartTimes {
  private readonly waiting = new Map<string, { handle: TimerHandle; start: () => void }>();

  /**
   * `nowMs`: a monotonic clock read beside `timers` (performance.now by default); `defer`:
   * runs a callback after the current event-loop phase's I/O (setImmediate by default).
   */
  constructor(
    private readonly timers: Timers,
    private readonly nowMs: () => number,
    private readonly defer: (callback: () => void) => void = setImmediate,
  ) {}

  /** Attempts waiting for their start time. */
  get size(): number {
    return this.waiting.size;
  }

  /** Calls `start` once `waitMs` have passed by the clock, never earlier. */
  wait(key: string, waitMs: number, start: () => void): void {
    const dueAtMs = this.nowMs() + waitMs;
    const arm = (ms: number): void => {
      const handle = this.timers.setTimeout(() => {
        const leftMs = dueAtMs - this.nowMs();
        if (leftMs > 0) return arm(leftMs);
        this.waiting.delete(key);
        this.defer(start);
      }, ms);
      this.waiting.set(key, { handle, start });
    };
    arm(waitMs);
  }

  /** Starts a waiting attempt now (it was stopped: it reports that at once); false if none. */
  startNow(key: string): boolean {
    const waiting = this.waiting.get(key);
    if (waiting === undefined) return false;
    this.timers.clearTimeout(waiting.handle);
    this.waiting.delete(key);
    waiting.start();
    return true;
  }
}
