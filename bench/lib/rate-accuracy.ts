/** How a rate limiter kept to its rate, from the start times of what it let through. */
export interface RateAccuracy {
  /** Starts per second from the first start to the last. */
  readonly achievedPerSec: number;
  /** The most starts in any window of `windowMs` (sliding): at most the limit, if it held. */
  readonly mostInAnyWindow: number;
}

/** Measures `startsMs` (any order) against windows of `windowMs`. */
export function rateAccuracy(startsMs: readonly number[], windowMs: number): RateAccuracy {
  const sorted = [...startsMs].sort((a, b) => a - b);
  const spanMs = sorted.at(-1)! - sorted[0]!;
  let most = 0;
  let from = 0;
  // Half-open windows [t, t + windowMs) starting at each start: two pointers, O(n).
  for (let to = 0; to < sorted.length; to++) {
    while (sorted[to]! - sorted[from]! >= windowMs) from++;
    most = Math.max(most, to - from + 1);
  }
  return {
    achievedPerSec: spanMs === 0 ? 0 : ((sorted.length - 1) * 1000) / spanMs,
    mostInAnyWindow: most,
  };
}
