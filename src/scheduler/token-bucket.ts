/** At most `count` starts per `intervalMs`, with bursts of up to `burst` (issue #18). */
export interface RateLimit {
  readonly count: number;
  readonly intervalMs: number;
  /**
   * Tokens the bucket holds when full: how many may start at once after a quiet spell.
   * 1 spaces starts evenly (`intervalMs / count` apart), so no window of `intervalMs` ever
   * holds more than `count` starts; a larger burst allows up to `burst - 1` more in a window.
   */
  readonly burst: number;
}

/**
 * A token bucket, kept as GCRA (the generic cell rate algorithm, which is the same bucket
 * seen from the clock): one "theoretical arrival time" instead of a level. Time is scaled
 * by `count` so the emission interval (`intervalMs / count`) is the whole number
 * `intervalMs`, and every due time is exact: 3 per second start at 0, 334, 667, 1000 ms,
 * with no drift from rounding each step. The origin moves up whenever the bucket is full,
 * so the scaled numbers stay small. Pure: the time comes in with each call.
 */
export class TokenBucket {
  private originMs: number;
  /** Theoretical arrival time of the next start, in ms * count since `originMs`. */
  private tat = 0;

  constructor(
    readonly rate: RateLimit,
    nowMs: number,
  ) {
    this.originMs = nowMs;
  }

  /** How far the bucket may run ahead of the clock: the burst beyond one start. */
  private get toleranceScaled(): number {
    return (this.rate.burst - 1) * this.rate.intervalMs;
  }

  private scaled(nowMs: number): number {
    return (Math.max(nowMs, this.originMs) - this.originMs) * this.rate.count;
  }

  /** True if a start is allowed at `nowMs`. */
  hasTokenAt(nowMs: number): boolean {
    return this.tat - this.toleranceScaled <= this.scaled(nowMs);
  }

  /** True when every token is back at `nowMs` (nothing taken that has not accrued back). */
  fullAt(nowMs: number): boolean {
    return this.tat <= this.scaled(nowMs);
  }

  /** Takes a token at `nowMs`; the caller checked {@link hasTokenAt}. */
  take(nowMs: number): void {
    const now = this.scaled(nowMs);
    // A start up to a clock tick (1 ms) after its due time counts as on time: the clock is
    // in whole ms but due times are not (3/s falls due at 333.3 ms), and a timer set for a
    // due time fires in the next tick. Charging that to the next start would slow the rate
    // at every step (measured: 1,000/s with burst 1 gave 660/s, now 956/s). A start is
    // never early, so a window of the interval holds at most one start more than `count`,
    // and only at rates where the tick is a large part of the spacing (above ~500/s).
    if (now >= this.tat && now - this.tat <= this.rate.count) {
      this.tat += this.rate.intervalMs;
      return;
    }
    if (now > this.tat) {
      // Idle past full: start the scale over here, so its numbers stay small.
      this.originMs = Math.max(nowMs, this.originMs);
      this.tat = 0;
    }
    this.tat += this.rate.intervalMs;
  }

  /** The first time a start is allowed (now or earlier if one is). */
  nextTokenAtMs(): number {
    const ahead = this.tat - this.toleranceScaled;
    return this.originMs + Math.max(0, Math.ceil(ahead / this.rate.count));
  }
}
