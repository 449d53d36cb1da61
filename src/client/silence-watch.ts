/** The clock and timer a {@link SilenceWatch} runs on (injected in tests). */
export interface SilenceWatchDeps {
  /** Monotonic milliseconds. */
  nowMs(): number;
  /** Calls `fn` after `ms`; returns a cancel function. Must not keep the process alive. */
  after(ms: number, fn: () => void): () => void;
}

const realDeps: SilenceWatchDeps = {
  nowMs: () => performance.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    // The stream keeps the process alive while answers are owed; this timer never does.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

/**
 * Gives up on a leader that stops answering: a frozen process, or one cut off while the
 * kernel keeps its connection open, never ends the stream, so without this a schedule
 * would wait for ever. One timer, set for when the oldest unanswered request (the first
 * `oldestSentAtMs` reports) will have waited `timeoutMs`; then `onSilence` runs.
 */
export class SilenceWatch {
  private cancel: (() => void) | undefined;

  constructor(
    private readonly timeoutMs: number,
    /** When the oldest request still unanswered was sent, or undefined if none is. */
    private readonly oldestSentAtMs: () => number | undefined,
    private readonly onSilence: () => void,
    private readonly deps: SilenceWatchDeps = realDeps,
  ) {}

  /** A request was sent: make sure the timer runs. */
  watch(): void {
    if (this.cancel !== undefined) return;
    const sentAtMs = this.oldestSentAtMs();
    if (sentAtMs === undefined) return;
    const dueInMs = Math.max(0, sentAtMs + this.timeoutMs - this.deps.nowMs());
    this.cancel = this.deps.after(dueInMs, () => {
      this.cancel = undefined;
      const oldest = this.oldestSentAtMs();
      if (oldest !== undefined && this.deps.nowMs() - oldest >= this.timeoutMs) this.onSilence();
      // Answers came meanwhile (or the stream was given up): watch what is still owed.
      this.watch();
    });
  }

  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }
}
