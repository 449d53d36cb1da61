/** Backoff and give-up settings for reaching the leader. */
export interface ReconnectPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** Stop trying (and fail) after this long without a leader. */
  readonly giveUpAfterMs: number;
}

/**
 * A heartbeat stream that lived less than this counts as a failed round for backoff. A
 * leader that ends every stream at once (a message it refuses, say) otherwise saw the
 * worker rejoin in a tight loop: 218 joins in 10 s (issue #14).
 */
export const STABLE_STREAM_MS = 2_000;

/**
 * Delay before the next join after `failures` failed rounds in a row: none after a good
 * round, else full jitter over a capped exponential (a leader restart must not see every
 * worker reconnect in lockstep). `random` is in [0, 1).
 */
export function reconnectDelayMs(
  failures: number,
  policy: ReconnectPolicy,
  random: () => number,
): number {
  if (failures <= 0) return 0;
  // The exponent is capped so 2 ** failures cannot overflow to Infinity on a long outage.
  const capMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(failures, 30));
  return random() * capMs;
}

/** Whether a round that held a stream for `streamMs` resets the failure count. */
export function streamWasStable(streamMs: number): boolean {
  return streamMs >= STABLE_STREAM_MS;
}
