import type { Clock } from '../../shared/clock.js';
import type { LeaderTimers } from '../leader-timers.js';

/**
 * One periodic job of the leader (River's maintenance services are the model: one service
 * per job, each told the time). `run` is synchronous: it changes the cores and hands
 * their changes to the commit pipeline, never waits for a write.
 */
export interface MaintenanceJob {
  /** For logs and tests. */
  readonly name: string;
  run(nowMs: number): void;
}

/**
 * Runs the jobs in order, every `intervalMs`, on the injected ticker (LeaderTimers.every),
 * all at one time read per tick. Timeouts and backoffs are therefore precise to one
 * interval (100 ms by default). Returns the stop.
 */
export function startMaintenance(
  timers: Pick<LeaderTimers, 'every'>,
  clock: Clock,
  intervalMs: number,
  jobs: readonly MaintenanceJob[],
): () => void {
  return timers.every(intervalMs, () => {
    const nowMs = clock.nowMs();
    for (const job of jobs) job.run(nowMs);
  });
}
