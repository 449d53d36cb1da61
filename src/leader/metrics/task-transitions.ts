import type { TaskRecord, TaskStatus } from '../../scheduler/task.js';

/** A change of a task's state that metrics count. */
export type TaskTransition =
  | { readonly what: 'scheduled'; readonly task: TaskRecord }
  | { readonly what: 'started'; readonly task: TaskRecord }
  /**
   * An attempt failed and the task will run again. `attempt` names it when the next one
   * started in the same commit (no backoff), so the record shows the next one already.
   */
  | { readonly what: 'retrying'; readonly task: TaskRecord; readonly attempt?: number }
  /**
   * An attempt that never began: a timed start whose worker was lost before its run time
   * (waiting for it again), or one its worker handed back unstarted (queued again).
   */
  | { readonly what: 'unstarted'; readonly task: TaskRecord }
  /**
   * Its worker was lost during the attempt: back in the queue with the attempt kept, which
   * that worker may still re-attach ('resumed') or report.
   */
  | { readonly what: 'lost'; readonly task: TaskRecord }
  /** A lost attempt re-attached by its worker: it runs on. */
  | { readonly what: 'resumed'; readonly task: TaskRecord }
  | { readonly what: 'finished'; readonly task: TaskRecord; readonly status: TaskStatus };

/**
 * Turns saved task records into transitions, each counted once: what a record looked like
 * when last seen is kept on the live record itself (`observedState`, status and attempt as
 * one number, attempt * 8 + status: no string per save), and a save that did not change
 * status or attempt counts nothing (a re-attach, a second save in a group). Restored
 * records are made known first, so only records never seen are new tasks. Cheap enough for
 * every saved record. One TaskTransitions per process: the field is its own.
 */
export class TaskTransitions {
  /** A record restored from the store: known already, so its next save is no new task. */
  know(task: TaskRecord): void {
    task.observedState = stateOf(task);
  }

  /** The transitions a saved record makes since it was last seen. */
  observe(task: TaskRecord, emit: (transition: TaskTransition) => void): void {
    const state = stateOf(task);
    const before = task.observedState;
    if (before === state) return;
    task.observedState = state;
    // Never seen (nor restored): a new task, perhaps started in the same commit.
    if (before === undefined) emit({ what: 'scheduled', task });
    switch (task.status) {
      case 'running':
        // A new attempt, or a lost one re-attached (not a second save of a running one).
        if (before === undefined || before >> 3 !== task.attempt) {
          const ended = before === undefined ? undefined : endedUnseen(task, before);
          if (ended !== undefined) emit({ what: 'retrying', task, attempt: ended });
          emit({ what: 'started', task });
        } else if ((before & 7) === STATUS_CODES.pending) emit({ what: 'resumed', task });
        return;
      case 'pending':
        if (task.attemptEnded) emit({ what: 'retrying', task });
        // Handed back unstarted (see handBackAttempt): the only pending task with an
        // attempt and no member.
        else if (task.attempt > 0 && task.memberId === undefined) emit({ what: 'unstarted', task });
        // Requeued with its attempt and member kept: the member was lost (worker-loss.ts).
        else if (task.attempt > 0) emit({ what: 'lost', task });
        return;
      case 'completed':
      case 'error':
      case 'cancelled':
        emit({ what: 'finished', task, status: task.status });
        return;
      case 'scheduled':
        if (before !== undefined && task.attempt > 0) emit({ what: 'unstarted', task });
        return;
    }
  }
}

const STATUS_CODES: Readonly<Record<TaskStatus, number>> = {
  scheduled: 0,
  pending: 1,
  running: 2,
  completed: 3,
  error: 4,
  cancelled: 5,
};

/**
 * The attempt that failed and was retried between two saves, when a task last seen
 * running shows the next attempt running: its failure and the next start (no backoff) were
 * saved in one commit. Not one its worker handed back unstarted or was lost during: those
 * are no failures (the attempt log closes them as such).
 */
function endedUnseen(task: TaskRecord, before: number): number | undefined {
  const attempt = before >> 3;
  if ((before & 7) !== STATUS_CODES.running || attempt === 0 || attempt >= task.attempt) {
    return undefined;
  }
  const notFailed =
    task.handedBackAttempt === attempt ||
    task.uncountedLossAttempt === attempt ||
    task.lostAttempt?.attempt === attempt;
  return notFailed ? undefined : attempt;
}

function stateOf(task: TaskRecord): number {
  return task.attempt * 8 + STATUS_CODES[task.status];
}
