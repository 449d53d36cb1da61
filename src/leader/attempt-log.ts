import type { AttemptLogEntry, TaskRecord } from '../scheduler/task.js';
import type { TaskTransition } from './metrics/task-transitions.js';

/** The most attempts a task's log keeps (the latest): a task retried forever stays small. */
export const MAX_ATTEMPT_ENTRIES = 50;

/**
 * Keeps each task's attempts on its record (`attemptLog`), from the transitions its saves
 * make (see TaskTransitions): an entry when an attempt starts, closed when it fails,
 * finishes or is cancelled. In memory only, like the trace context: the store keeps a
 * task's current attempt and last error, so after a leader restart the log starts again
 * with the attempts made since.
 */
export function recordAttempt(transition: TaskTransition, nowMs: number): void {
  const { task } = transition;
  switch (transition.what) {
    case 'started': {
      const log = (task.attemptLog ??= []);
      // The end of an attempt and the next start saved in one commit: the earlier attempt
      // just ended, or its worker handed it back unstarted, or was lost before it began it.
      for (const entry of log) {
        if (entry.endedAtMs !== undefined) continue;
        const unstarted =
          entry.attempt === task.handedBackAttempt || entry.attempt === task.uncountedLossAttempt;
        close(entry, nowMs, unstarted ? 'not started' : 'ended');
      }
      log.push({ attempt: task.attempt, memberId: task.memberId, startedAtMs: task.startedAtMs });
      if (log.length > MAX_ATTEMPT_ENTRIES) log.splice(0, log.length - MAX_ATTEMPT_ENTRIES);
      return;
    }
    case 'retrying':
      closeCurrent(task, nowMs, 'retried');
      return;
    case 'unstarted':
      closeCurrent(task, nowMs, 'not started');
      return;
    case 'finished':
      closeCurrent(task, task.finishedAtMs ?? nowMs, transition.status);
      return;
    case 'scheduled':
      return;
  }
}

function closeCurrent(task: TaskRecord, atMs: number, outcome: string): void {
  const entry = task.attemptLog?.findLast((e) => e.attempt === task.attempt);
  if (entry === undefined || entry.endedAtMs !== undefined) return;
  close(entry, atMs, outcome);
  entry.error = task.error;
}

function close(entry: AttemptLogEntry, atMs: number, outcome: string): void {
  entry.endedAtMs = atMs;
  entry.outcome = outcome;
}
