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
