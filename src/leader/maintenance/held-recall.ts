import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { WorkChannels } from '../work-channels.js';
import type { MaintenanceJob } from './maintenance.js';

/** What rebalancing held tasks reads and drives. */
export interface HeldRecallDeps {
  readonly scheduler: Pick<Scheduler, 'rebalanceHeld'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly assignment: Pick<Assignment, 'dispatch'>;
  readonly channels: Pick<WorkChannels, 'sendRecall'>;
  /**
   * How long a task held ahead may wait on its worker before it is recalled for a free
   * slot elsewhere: twice the prefetch limit of waiting (`--prefetch-short-ms`), so tasks
   * that keep their pace (and start within about that limit) are never bounced.
   */
  readonly heldForMs: number;
  /** Told how many recalls went out (metrics). */
  readonly onRecalls?: ((count: number) => void) | undefined;
}

/**
 * Rebalances what busy workers hold ahead of their slots (see Scheduler.rebalanceHeld):
 * asks them to hand back tasks held too long while another worker has a free slot, and
 * hands a queued task of higher priority ahead in place of a held one it recalls. The
 * starts are saved before they are sent, as any assignment; a recalled task changes only
 * when its worker reports it handed back, which is saved as any report.
 */
export class HeldRecall implements MaintenanceJob {
  readonly name = 'held-recall';

  constructor(private readonly deps: HeldRecallDeps) {}

  run(nowMs: number): void {
    const { changed, starts, recalls } = this.deps.scheduler.rebalanceHeld(
      nowMs,
      this.deps.heldForMs,
    );
    if (recalls.length === 0) return;
    this.deps.commits.then(changed, () => {
      // The start first: the worker then holds the higher task before it gives one back.
      if (starts.length > 0) this.deps.assignment.dispatch(starts);
      for (const order of recalls) this.deps.channels.sendRecall(order);
    });
    this.deps.onRecalls?.(recalls.length);
  }
}
