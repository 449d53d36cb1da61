import { attemptKey } from '../scheduler/task.js';
import type { AttemptSpan } from './attempt-tracer.js';
import type { StopWatch } from './stop-grace.js';

/**
 * One attempt the runner knows, from its start order until its report is settled.
 *
 * Its AbortController is made only when something asks for the signal (a handler reading
 * `ctx.signal`): profiling a worker under load showed the controller, its EventTarget and
 * the listener the grace period added at ~8 µs a task, and most short handlers never look
 * at their signal. A stop before the signal exists is kept and the signal is born aborted.
 */
export class RunningAttempt implements StopWatch {
  /** The runner's key of this attempt (task id and attempt number). */
  readonly key: string;
  /** Set when the worker gives the attempt back to the leader instead of reporting it. */
  abandoned = false;
  /** Set when its task has a concurrency key: the fence stops it (see key-fence.ts). */
  keyed = false;
  /**
   * Set for a timed start (it waited on this worker for its run time): as it starts it is
   * checked against the same fence as a keyed one (see TaskRunner.gateKeyed).
   */
  timed = false;
  /** Set when its slot came and its run began (even if only to report a stop). */
  began = false;
  /** Set when the worker hands it back unstarted: it never runs (see handBackUnstarted). */
  handedBack = false;
  /** Set when the handler has ended; the attempt stays known until its report is settled. */
  ended = false;
  /** Output characters sent so far; past the limit, output is dropped after a marker. */
  outputChars = 0;
  /** The attempt's run span, when the worker traces. */
  span: AttemptSpan | undefined;
  private controller: AbortController | undefined;
  private stopReason: unknown;
  private stopListener: (() => void) | undefined;
  private isStopped = false;

  constructor(
    readonly id: string,
    readonly attempt: number,
    key = attemptKey(id, attempt),
  ) {
    this.key = key;
  }

  /** The handler's signal; fires with the stop's reason. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.isStopped) this.controller.abort(this.stopReason);
    }
    return this.controller.signal;
  }

  get stopped(): boolean {
    return this.isStopped;
  }

  /** Why it was stopped (undefined while it was not). */
  get reason(): unknown {
    return this.stopReason;
  }

  /** Stops the attempt once; later stops change nothing (as AbortController.abort). */
  stop(reason: unknown): void {
    if (this.isStopped) return;
    this.isStopped = true;
    this.stopReason = reason;
    this.controller?.abort(reason);
    const listener = this.stopListener;
    this.stopListener = undefined;
    listener?.();
  }

  /** One listener at a time (the grace period's); a second call replaces the first. */
  whenStopped(listener: () => void): () => void {
    this.stopListener = listener;
    return () => {
      if (this.stopListener === listener) this.stopListener = undefined;
    };
  }
}
