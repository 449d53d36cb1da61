import type { Logger } from 'pino';
import type { Scheduler } from '../../scheduler/scheduler.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { MaintenanceJob } from './maintenance.js';

/** Most finished tasks one sweep prunes, so a sweep stays short whatever the backlog. */
export const PRUNE_PER_SWEEP = 1_000;

/** Finished tasks kept: at most this many, and none finished longer ago than the age. */
export interface Retention {
  readonly finished: number;
  readonly ageMs: number;
}

/** What the prune reads and drives. */
export interface RetentionPruneDeps {
  readonly scheduler: Pick<Scheduler, 'prune'>;
  readonly commits: Pick<CommitPipeline, 'remove'>;
  readonly retention: Retention;
  readonly log: Logger;
}

/** Drops finished tasks beyond the retention, a bounded number per sweep. */
export class RetentionPrune implements MaintenanceJob {
  readonly name = 'retention-prune';

  constructor(private readonly deps: RetentionPruneDeps) {}

  run(nowMs: number): void {
    const { finished, ageMs } = this.deps.retention;
    const removed = this.deps.scheduler.prune({
      keep: finished,
      finishedBeforeMs: nowMs - ageMs,
      limit: PRUNE_PER_SWEEP,
    });
    if (removed.length === 0) return;
    this.deps.log.debug({ tasks: removed.length }, 'finished tasks pruned');
    // Nothing waits on a prune; a failure has already stopped the leader.
    this.deps.commits.remove(removed).catch(() => {});
  }
}
