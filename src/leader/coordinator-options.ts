import type { TaskPolicyDefaults } from '../scheduler/retry-policy.js';
import type { PrefetchPolicy } from '../scheduler/worker-slots.js';
import type { OutputLimits } from '../scheduler/task-output.js';
import type { Retention } from './maintenance/retention-prune.js';
import type { MembershipTiming } from './membership/registry.js';
import type { WatchLimits } from './watch-limiter.js';

/** Tunables of the coordinator, from the leader's config. */
export interface CoordinatorOptions {
  readonly heartbeatIntervalMs: number;
  readonly timing: MembershipTiming;
  readonly sweepIntervalMs: number;
  readonly maxPayloadBytes: number;
  /** Retry and timeout policy of tasks that name none. */
  readonly taskPolicy: TaskPolicyDefaults;
  /**
   * After a restart, how long tasks that were running wait for their workers to reconnect
   * and re-attach them before they go back to the queue as new attempts.
   */
  readonly reattachGraceMs: number;
  /** How far assignment may run ahead of a worker's free slots (see PrefetchPolicy). */
  readonly prefetch?: PrefetchPolicy;
  /** How long before its run time a delayed task may be handed out (timed starts); 0: never. */
  readonly timedStartLeadMs?: number;
  /** Finished tasks kept: at most this many, and none finished longer ago than the age. */
  readonly retention: Retention;
  /** Task output kept in memory: per task and in total, in characters. */
  readonly output: OutputLimits;
  /** Open watches allowed, in all and per client. */
  readonly watchers?: WatchLimits;
}

/** The most time one event-loop turn spends writing watches, in ms (see WatchTurns). */
export const WATCH_TURN_BUDGET_MS = 4;

/** Watches allowed when the options name none. */
export const DEFAULT_WATCH_LIMITS: WatchLimits = { total: 256, perClient: 64 };
