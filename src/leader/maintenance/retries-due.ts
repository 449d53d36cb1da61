import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { MaintenanceJob } from './maintenance.js';

/** What the retry promotion reads and drives. */
export interface RetriesDueDeps {
  readonly scheduler: Pick<Scheduler, 'promoteDue'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly assignment: Pick<Assignment, 'request'>;
}

/** Queues tasks whose retry backoff is over, then asks for an assignment round. */
export class RetriesDue implements MaintenanceJob {
  readonly name = 'retries-due';

  constructor(private readonly deps: RetriesDueDeps) {}

  run(nowMs: number): void {
    const { changed } = this.deps.scheduler.promoteDue(nowMs);
    // Nothing due, nothing to assign: assignment runs on events, never on this tick.
    if (changed.length === 0) return;
    this.deps.commits.then(changed, () => this.deps.assignment.request());
  }
}
