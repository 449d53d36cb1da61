/** An opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * One-shot timers, injected so the worker's grace periods (a handler that ignores its
 * signal, a command that ignores SIGTERM) are unit-tested with a fake instead of waiting in
 * real time.
 */
export interface Timers {
  /**
   * Runs `callback` once after `ms`. `weak: true` lets the process exit before it fires (a
   * grace period must not keep a stopping worker alive).
   */
  setTimeout(callback: () => void, ms: number, options?: { readonly weak?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Node's timers. */
export const systemTimers: Timers = {
  setTimeout(callback, ms, options) {
    const timer = setTimeout(callback, ms);
    if (options?.weak === true) timer.unref();
    return timer;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
