/** Source of time. Only `systemClock` reads the wall clock, so tests can drive time. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  nowMs(): number;
}

/** The real clock. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** A gRPC call deadline `ms` from now (grpc-js deadlines are wall-clock). */
export function deadlineAfter(ms: number): Date {
  return new Date(Date.now() + ms);
}

/**
 * The longest timer Node and grpc-js keep (2^31 - 1 ms, about 24.8 days): a longer one
 * fires at once, a longer call deadline is dropped by grpc-js, and past 8.64e15 ms it is
 * not even a valid Date.
 */
export const MAX_TIMER_MS = 0x7fff_ffff;
