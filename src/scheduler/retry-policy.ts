/**
 * What a task gets when it names no policy of its own: the cluster's defaults, from the
 * leader's flags. They are copied into each task when it is scheduled, so changing a
 * default later (and restarting) does not change tasks already in the list.
 */
export interface TaskPolicyDefaults {
  /** Attempts per task, counting runs that failed, timed out or lost their worker. */
  readonly maxAttempts: number;
  /** Delay before the first retry after a failure or timeout. */
  readonly retryBackoffMs: number;
  /** The backoff doubles per attempt up to this. */
  readonly retryBackoffMaxMs: number;
  /** Longest an attempt may run; 0 means no limit. */
  readonly timeoutMs: number;
}

/** The defaults a scheduler uses when none are given (and the leader's flag defaults). */
export const DEFAULT_TASK_POLICY: TaskPolicyDefaults = Object.freeze({
  maxAttempts: 3,
  retryBackoffMs: 1000,
  retryBackoffMaxMs: 60_000,
  timeoutMs: 0,
});

/** Upper bounds a task's own policy is checked against. */
export const POLICY_LIMITS = Object.freeze({
  maxAttempts: 1000,
  retryBackoffMs: 24 * 3600 * 1000,
  timeoutMs: 7 * 24 * 3600 * 1000,
});

/**
 * How long a task waits before attempt `failedAttempt + 1`: the task's first backoff,
 * doubled for each attempt after the first, capped. Exponential rather than fixed so a
 * task failing on a sick dependency backs off instead of hammering it; no jitter because
 * retries of different tasks are already spread by when each one failed.
 */
export function retryDelayMs(firstBackoffMs: number, failedAttempt: number, capMs: number): number {
  if (firstBackoffMs <= 0) return 0;
  const doublings = Math.min(Math.max(failedAttempt - 1, 0), 30);
  return Math.min(firstBackoffMs * 2 ** doublings, Math.max(capMs, firstBackoffMs));
}
