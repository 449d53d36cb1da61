/**
 * The leader's timers, injected (STYLE: timers come in like the clock), so the periodic
 * sweep and the per-turn coalescing are driven by hand in unit tests instead of by time.
 */
export interface LeaderTimers {
  /** Calls `fn` every `ms`; returns the stop. */
  every(ms: number, fn: () => void): () => void;
  /** Calls `fn` on a later event-loop turn (after I/O: heartbeats are not held back). */
  defer(fn: () => void): void;
}

/** Node's timers. */
export const systemLeaderTimers: LeaderTimers = {
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  defer(fn) {
    setImmediate(fn);
  },
};
