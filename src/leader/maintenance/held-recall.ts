import type { Scheduler } from '../../scheduler/scheduler.js';
import type { WorkChannels } from '../work-channels.js';
import type { MaintenanceJob } from './maintenance.js';

/** What recalling held tasks reads and drives. */
export interface HeldRecallDeps {
  readonly scheduler: Pick<Scheduler, 'recallHeld'>;
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
 * Asks busy workers to hand back tasks held ahead too long while another worker has a
 * free slot (see held-recall.ts in the scheduler). Nothing is saved: the task changes only
 * when its worker reports it handed back, which is saved as any report.
 */
export class HeldRecall implements MaintenanceJob {
  readonly name = 'held-recall';

  constructor(private readonly deps: HeldRecallDeps) {}

  run(nowMs: number): void {
    const orders = this.deps.scheduler.recallHeld(nowMs, this.deps.heldForMs);
    for (const order of orders) this.deps.channels.sendRecall(order);
    if (orders.length > 0) this.deps.onRecalls?.(orders.length);
  }
}
