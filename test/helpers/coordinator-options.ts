import type { CoordinatorOptions } from '../../src/leader/coordinator.js';
import { DEFAULT_TASK_POLICY } from '../../src/scheduler/retry-policy.js';

/**
 * Coordinator options for unit tests: suspect after 2 s and dead after 3 s of silence,
 * small payload and output limits; override what a test is about.
 */
export function testCoordinatorOptions(
  overrides: Partial<CoordinatorOptions> = {},
): CoordinatorOptions {
  return {
    heartbeatIntervalMs: 1_000,
    timing: {
      suspectAfterMs: 2_000,
      deadAfterMs: 3_000,
      retentionMs: 60_000,
      quarantineAfterFailures: 5,
      quarantineMs: 30_000,
    },
    taskPolicy: DEFAULT_TASK_POLICY,
    sweepIntervalMs: 100,
    maxPayloadBytes: 1024,
    reattachGraceMs: 0,
    retention: { finished: 100, ageMs: 60_000 },
    output: { perTaskChars: 1024, totalChars: 4096 },
    ...overrides,
  };
}
