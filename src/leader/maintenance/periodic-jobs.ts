import type { Logger } from 'pino';
import { NO_PREFETCH, type PrefetchPolicy } from '../../scheduler/slot-policy.js';
import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { MemberFeed } from '../member-feed.js';
import type { MemberLifecycle } from '../member-lifecycle.js';
import type { LeaderMetrics } from '../metrics/leader-metrics.js';
import type { MembershipRegistry } from '../membership/registry.js';
import type { WorkChannels } from '../work-channels.js';
import { AttemptExpiry } from './attempt-expiry.js';
import { HeldRecall } from './held-recall.js';
import { LivenessSweep } from './liveness-sweep.js';
import type { MaintenanceJob } from './maintenance.js';
import { RetentionPrune, type Retention } from './retention-prune.js';

/** What the leader's periodic jobs read and drive, and the two made elsewhere. */
export interface PeriodicJobsDeps {
  readonly scheduler: Scheduler;
  readonly assignment: Assignment;
  readonly membership: MembershipRegistry;
  readonly members: MemberLifecycle;
  readonly feed: MemberFeed;
  readonly commits: CommitPipeline;
  readonly channels: WorkChannels;
  readonly log: Logger;
  readonly retention: Retention;
  readonly prefetch?: PrefetchPolicy | undefined;
  readonly metrics?: Pick<LeaderMetrics, 'countRecalls'> | undefined;
  /** Due promotion and the re-attach grace: jobs the coordinator also drives itself. */
  readonly due: MaintenanceJob;
  readonly reattach: MaintenanceJob;
}

/** The leader's periodic jobs, in the order each tick runs them. */
export function periodicJobs(deps: PeriodicJobsDeps): MaintenanceJob[] {
  const { scheduler, assignment, membership, members, feed, commits, channels, log } = deps;
  const { metrics } = deps;
  // With prefetch off nothing is held ahead of a slot, and the recall finds nothing.
  const heldForMs = 2 * (deps.prefetch ?? NO_PREFETCH).shortAttemptMs;
  return [
    new LivenessSweep({ membership, members, feed }),
    new AttemptExpiry({ scheduler, members, commits, channels, assignment, feed, log }),
    deps.due,
    new RetentionPrune({ scheduler, commits, retention: deps.retention, log }),
    deps.reattach,
    new HeldRecall({
      scheduler,
      commits,
      assignment,
      channels,
      heldForMs,
      onRecalls: metrics && ((count) => metrics.countRecalls(count)),
    }),
  ];
}
