import type { Logger } from 'pino';
import type { Changes, Scheduler, StartOrder } from '../scheduler/scheduler.js';
import type { TaskRecord } from '../scheduler/task.js';
import type { Clock } from '../shared/clock.js';
import type { CommitPipeline } from './commit-pipeline.js';
import type { MemberFeed } from './member-feed.js';
import { OncePerTurn } from './once-per-turn.js';
import type { WorkChannels } from './work-channels.js';

/** What assignment reads and drives. */
export interface AssignmentDeps {
  readonly scheduler: Pick<Scheduler, 'assign'>;
  readonly commits: Pick<CommitPipeline, 'then'>;
  readonly channels: Pick<WorkChannels, 'sendStarts'>;
  readonly feed: Pick<MemberFeed, 'changed'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly defer: (fn: () => void) => void;
  /** Called after every round (a round may have emptied a rate bucket). */
  readonly afterRound?: () => void;
  /**
   * Told how many of the starts going out were handed ahead of a free slot (prefetch) and
   * ahead of their run time (timed starts).
   */
  readonly onAhead?: (counts: { prefetched: number; timed: number }) => void;
}

/**
 * Hands queued tasks to free slots. It runs on events (enqueue, a freed slot, a member
 * turning alive), coalesced to once per event-loop turn, never on a poll; each round is
 * saved before any worker is told.
 */
export class Assignment {
  private readonly round: OncePerTurn;

  constructor(private readonly deps: AssignmentDeps) {
    this.round = new OncePerTurn(deps.defer, () => this.run());
  }

  /** Asks for a round on a later turn. */
  request(): void {
    this.round.request();
  }

  /** No more rounds (shutdown). */
  stop(): void {
    this.round.stop();
  }

  /**
   * Assigns now; the caller must save `changed` before it calls {@link dispatch}. A caller
   * with changes of its own to save in the same commit uses {@link takeNowWith}.
   */
  takeNow(nowMs: number): Changes & { starts: StartOrder[] } {
    const assigned = this.deps.scheduler.assign(nowMs);
    this.deps.afterRound?.();
    this.logOutOfAttempts(assigned.changed);
    return assigned;
  }

  /**
   * Assigns now on top of the caller's own changes (new, due or re-run tasks): what to save
   * in one commit (each record once, though a task just queued and started is in both
   * lists) and the starts to {@link dispatch} once it is saved.
   */
  takeNowWith(
    nowMs: number,
    changed: readonly TaskRecord[],
  ): { saved: TaskRecord[]; starts: StartOrder[] } {
    const assigned = this.takeNow(nowMs);
    // Due tasks lost on their last attempt fail when their worker's grace ends.
    this.logOutOfAttempts(changed);
    return { saved: [...new Set([...changed, ...assigned.changed])], starts: assigned.starts };
  }

  /** Tells workers to start what was assigned to them (once it is saved). */
  dispatch(starts: readonly StartOrder[]): void {
    const told = this.deps.channels.sendStarts(starts, this.deps.clock.nowMs());
    for (const memberId of told) this.deps.feed.changed(memberId);
    const { onAhead } = this.deps;
    if (onAhead === undefined) return;
    let prefetched = 0;
    let timed = 0;
    for (const start of starts) {
      if (start.ahead) prefetched++;
      if (start.startAtMs !== undefined) timed++;
    }
    if (prefetched + timed > 0) onAhead({ prefetched, timed });
  }

  private run(): void {
    const { changed, starts } = this.takeNow(this.deps.clock.nowMs());
    if (changed.length === 0) return;
    this.deps.commits.then(changed, () => this.dispatch(starts));
  }

  /** Logs tasks that assignment failed rather than started (out of attempts). */
  private logOutOfAttempts(changed: readonly TaskRecord[]): void {
    for (const task of changed) {
      if (task.status !== 'error') continue;
      this.deps.log.warn(
        { taskId: task.id, attempt: task.attempt, error: task.error },
        'task failed: its member was lost on its last attempt',
      );
    }
  }
}
