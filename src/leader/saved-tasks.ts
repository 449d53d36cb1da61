import type { Clock } from '../shared/clock.js';
import type { TaskRecord } from '../scheduler/task.js';
import { recordAttempt } from './attempt-log.js';
import type { LeaderMetrics } from './metrics/leader-metrics.js';
import { TaskTransitions, type TaskTransition } from './metrics/task-transitions.js';

/**
 * What the leader learns from each commit of task changes, once it landed: the steps the
 * tasks made (each counted once, however often a task is saved), told to the metrics and
 * to each task's attempt log. One walk of the saved records for both.
 */
export class SavedTasks {
  private readonly transitions = new TaskTransitions();

  constructor(
    private readonly deps: {
      readonly clock: Clock;
      readonly metrics?: Pick<LeaderMetrics, 'count'> | undefined;
    },
  ) {}

  /** Records loaded from the store at start: known already, so no save of them is new. */
  restored(records: Iterable<TaskRecord>): void {
    for (const task of records) this.transitions.know(task);
  }

  /** A commit of `changed` landed. */
  saved(changed: readonly TaskRecord[]): void {
    const { metrics } = this.deps;
    const nowMs = this.deps.clock.nowMs();
    const step = (transition: TaskTransition): void => {
      metrics?.count(transition);
      recordAttempt(transition, nowMs);
    };
    for (const task of changed) this.transitions.observe(task, step);
  }
}
