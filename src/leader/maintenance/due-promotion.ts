import type { Scheduler } from '../../scheduler/scheduler.js';
import type { Clock } from '../../shared/clock.js';
import type { Assignment } from '../assignment.js';
import type { CommitPipeline } from '../commit-pipeline.js';
import type { LeaderTimers } from '../leader-timers.js';
import type { MaintenanceJob } from './maintenance.js';

/** What the due promotion reads and drives. */
export interface DuePromotionDeps {
  readonly scheduler: Pick<Scheduler, 'promoteDue' | 'nextDueAtMs'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly assignment: Pick<Assignment, 'takeNow' | 'takeNowWith' | 'dispatch'>;
  readonly timers: Pick<LeaderTimers, 'after'>;
  readonly clock: Clock;
}

/**
 * Queues what falls due (retries whose backoff is over, delayed tasks whose run time has
 * come, keys whose rate bucket has a token again) on time, with one timer for all of them: it is set for the earliest due time the
 * scheduler holds (a B-tree minimum, O(log n)) and set again after each firing, so a
 * delayed task starts when due, not on the next sweep, and 10,000 waiting tasks cost one
 * timer. The sweep also runs it (a safety net for anything filed without a refresh, and
 * the re-arm after a timer that fired a little early).
 */
export class DuePromotion implements MaintenanceJob {
  readonly name = 'due-promotion';
  /** The due time the timer is set for, and how to cancel it. */
  private armed: { readonly atMs: number; readonly cancel: () => void } | undefined;
  private stopped = false;

  constructor(private readonly deps: DuePromotionDeps) {}

  /** Queues what is due at `nowMs`, then sets the timer for what is due next. */
  run(nowMs: number): void {
    this.promote(nowMs);
    this.disarm();
    this.refresh();
  }

  /**
   * Sets the timer for the earliest due time, if it is not set for that time or earlier
   * already. Called after anything that may have filed an earlier one (a delayed task
   * scheduled, an attempt failed with a backoff); cheap enough to call on every such event.
   */
  refresh(): void {
    if (this.stopped) return;
    const next = this.deps.scheduler.nextDueAtMs();
    if (next === undefined || (this.armed !== undefined && this.armed.atMs <= next)) return;
    this.disarm();
    const delayMs = Math.max(0, next - this.deps.clock.nowMs());
    const cancel = this.deps.timers.after(delayMs, () => {
      this.armed = undefined;
      this.run(this.deps.clock.nowMs());
    });
    this.armed = { atMs: next, cancel };
  }

  /** No more firings (shutdown). */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  /**
   * The tasks that fell due go into the queue and, in the same commit, to any free slots:
   * one write from due to start, as for a task scheduled with no delay.
   */
  private promote(nowMs: number): void {
    const { changed, reopenedKeys, timedOffers } = this.deps.scheduler.promoteDue(nowMs);
    // Nothing due, nothing to assign: assignment runs on events, never on this tick. A key
    // whose rate bucket has a token again gets its round now, not a turn later: at high
    // rates a start per firing is the limit, and every turn of delay is lost rate.
    // Likewise delayed tasks newly within the timed-start lead: a round hands them ahead.
    if (changed.length === 0) {
      if (reopenedKeys === 0 && !timedOffers) return;
      const { changed: assigned, starts } = this.deps.assignment.takeNow(nowMs);
      this.deps.commits.then(assigned, () => this.deps.assignment.dispatch(starts));
      return;
    }
    const { saved, starts } = this.deps.assignment.takeNowWith(nowMs, changed);
    this.deps.commits.then(saved, () => this.deps.assignment.dispatch(starts));
  }

  private disarm(): void {
    this.armed?.cancel();
    this.armed = undefined;
  }
}
