import type { Logger } from 'pino';
import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { MemberFeed } from '../member-feed.js';
import type { MemberLifecycle } from '../member-lifecycle.js';
import type { WorkChannels } from '../work-channels.js';
import type { MaintenanceJob } from './maintenance.js';

/** What attempt expiry reads and drives. */
export interface AttemptExpiryDeps {
  readonly scheduler: Pick<Scheduler, 'expire'>;
  readonly members: Pick<MemberLifecycle, 'recordOutcome'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly channels: Pick<WorkChannels, 'sendStop'>;
  readonly assignment: Pick<Assignment, 'request'>;
  readonly feed: Pick<MemberFeed, 'changed'>;
  readonly log: Logger;
}

/**
 * Stops attempts past their timeout (the worker is told once the change is saved); each
 * counts as a failure of the member it ran on, toward its quarantine.
 */
export class AttemptExpiry implements MaintenanceJob {
  readonly name = 'attempt-expiry';

  constructor(private readonly deps: AttemptExpiryDeps) {}

  run(nowMs: number): void {
    const { changed, stops, failures } = this.deps.scheduler.expire(nowMs);
    if (changed.length === 0) return;
    for (const { memberId, task } of failures) {
      this.deps.feed.changed(memberId);
      this.deps.log.warn(
        { taskId: task.id, memberId, status: task.status, error: task.error },
        task.status === 'error' ? 'task failed: timed out' : 'task timed out; retrying',
      );
      this.deps.members.recordOutcome(nowMs, memberId, true);
    }
    this.deps.commits.then(changed, () => {
      for (const stop of stops) this.deps.channels.sendStop(stop);
      this.deps.assignment.request();
    });
  }
}
