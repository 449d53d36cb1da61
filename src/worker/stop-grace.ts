import type { TaskContext, TaskHandler, TaskResult } from './runner-types.js';
import { isThenable } from './thenable.js';
import type { TimerHandle, Timers } from './timers.js';

/**
 * Whether an attempt was told to stop, and a way to hear when it is: a running attempt
 * (RunningAttempt; the tests adapt an AbortSignal).
 */
export interface StopWatch {
  readonly stopped: boolean;
  /** Calls `listener` once when stopped; returns what forgets it. */
  whenStopped(listener: () => void): () => void;
}

/** How a handler's promise ended, or that it did not end in time after a stop. */
export type Settled<T> =
  | { readonly kind: 'returned'; readonly value: T }
  | { readonly kind: 'threw'; readonly error: unknown }
  | { readonly kind: 'unresponsive' };

/**
 * Waits for `work` to settle, however long it runs, until `stop` says it stopped; from then on it
 * waits at most `graceMs` more and answers `unresponsive`. A handler that ignores its
 * signal and never settles would otherwise hold its slot forever after a cancel or a
 * timeout (issue #14). `work` is never abandoned unobserved: its late settlement is
 * swallowed here, not left as an unhandled rejection.
 */
export function settleWithinGrace<T>(
  work: PromiseLike<T>,
  stop: StopWatch,
  graceMs: number,
  timers: Timers,
): Promise<Settled<T>> {
  return new Promise((resolve) => {
    let timer: TimerHandle | undefined;
    let done = false;
    let unwatch: (() => void) | undefined;
    const finish = (settled: Settled<T>): void => {
      if (done) return;
      done = true;
      unwatch?.();
      if (timer !== undefined) timers.clearTimeout(timer);
      resolve(settled);
    };
    const onAbort = (): void => {
      // Weak: a worker that is exiting must not wait for the grace of a handler it left.
      timer = timers.setTimeout(() => finish({ kind: 'unresponsive' }), graceMs, { weak: true });
    };
    work.then(
      (value) => finish({ kind: 'returned', value }),
      (error: unknown) => finish({ kind: 'threw', error }),
    );
    if (stop.stopped) onAbort();
    else unwatch = stop.whenStopped(onAbort);
  });
}

/**
 * Calls the handler and waits for how it ended: at once for one that returned or threw
 * synchronously (no promise, no microtask: most short handlers), else within the stop
 * grace once a stop came.
 */
export function callHandler(
  handler: TaskHandler,
  context: TaskContext,
  stop: StopWatch,
  graceMs: number,
  timers: Timers,
): Settled<TaskResult> | Promise<Settled<TaskResult>> {
  let returned: ReturnType<TaskHandler>;
  try {
    returned = handler(context);
  } catch (error) {
    return { kind: 'threw', error };
  }
  if (!isThenable(returned)) return { kind: 'returned', value: returned };
  // A thenable that is not a native promise may throw from its own then(): adopted by
  // Promise.resolve, that becomes a rejection (a failed attempt), not a runner fault.
  const work = returned instanceof Promise ? returned : Promise.resolve(returned);
  return settleWithinGrace(work, stop, graceMs, timers);
}
