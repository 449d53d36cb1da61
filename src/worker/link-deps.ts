import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time, jitter and waiting for the link's reconnect loop, injected so that its policy
 * (ReconnectSchedule) never reads them itself and a test can drive them; Node's by default.
 */
export interface LinkDeps {
  /** Monotonic milliseconds (stream lifetimes, the give-up deadline): wall time can jump. */
  readonly monotonicMs: () => number;
  /** Jitter, in [0, 1). */
  readonly random: () => number;
  /** Resolves after `ms`, or as soon as `signal` aborts; never rejects. */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The real monotonic clock, Math.random and Node's timers. */
export const systemLinkDeps: LinkDeps = {
  monotonicMs: () => performance.now(),
  random: Math.random,
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => {}),
};
