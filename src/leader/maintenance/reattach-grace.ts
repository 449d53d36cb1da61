import type { Logger } from 'pino';
import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { MaintenanceJob } from './maintenance.js';

/** What the re-attach grace reads and drives. */
export interface ReattachGraceDeps {
  readonly scheduler: Pick<Scheduler, 'requeueUnclaimed'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly log: Logger;
}

/**
 * After a restart, tasks that were running wait until a deadline for their workers to
 * reconnect and re-attach them; once it passes, the unclaimed ones go back to the queue as
 * new attempts. Runs once per restart: disarmed after it fires.
 */
export class ReattachGrace implements MaintenanceJob {
  readonly name = 'reattach-grace';
  private deadlineMs: number | undefined;

  constructor(private readonly deps: ReattachGraceDeps) {}

  /** Starts the wait: restored running tasks are requeued at `deadlineMs` if unclaimed. */
  arm(deadlineMs: number): void {
    this.deadlineMs = deadlineMs;
  }

  run(nowMs: number): void {
    if (this.deadlineMs === undefined || nowMs < this.deadlineMs) return;
    this.deadlineMs = undefined;
    const { changed } = this.deps.scheduler.requeueUnclaimed(nowMs);
    for (const task of changed) {
      this.deps.log.warn(
        { taskId: task.id, attempt: task.attempt, memberId: task.memberId },
        'task requeued: its worker did not come back after the restart',
      );
    }
    this.deps.commits.then(changed, () => this.deps.assignment.request());
  }
}
