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
        // The task's begun mark moves to the new attempt once it begins: keep the old one's.
        keepBegan(task, entry);
        // Nothing reopens or re-ends an earlier attempt once another has started.
        delete entry.byLoss;
        if (entry.endedAtMs !== undefined) continue;
        const unstarted =
          entry.attempt === task.handedBackAttempt || entry.attempt === task.uncountedLossAttempt;
        const lost = task.lostAttempt?.attempt === entry.attempt ? task.lostAttempt : undefined;
        if (lost === undefined) close(entry, nowMs, unstarted ? 'not started' : 'ended');
        else {
          close(entry, lost.atMs, unstarted ? 'not started' : 'lost');
          entry.error = lost.error;
        }
      }
      log.push({ attempt: task.attempt, memberId: task.memberId, startedAtMs: task.startedAtMs });
      if (log.length > MAX_ATTEMPT_ENTRIES) log.splice(0, log.length - MAX_ATTEMPT_ENTRIES);
      return;
    }
    case 'retrying':
      closeCurrent(task, nowMs, 'retried', transition.attempt);
      return;
    case 'unstarted':
      closeCurrent(task, nowMs, 'not started');
      return;
    case 'lost': {
      // Closed when the loss is known, not at the next start; reopened if re-attached.
      const notBegun = task.uncountedLossAttempt === task.attempt;
      const atMs = task.lostAttempt?.attempt === task.attempt ? task.lostAttempt.atMs : nowMs;
      const entry = closeCurrent(task, atMs, notBegun ? 'not started' : 'lost');
      if (entry !== undefined) entry.byLoss = true;
      return;
    }
    case 'resumed': {
      const entry = currentEntry(task);
      if (entry?.byLoss !== true) return;
      for (const field of ['endedAtMs', 'outcome', 'error', 'byLoss'] as const) delete entry[field];
      return;
    }
    case 'finished':
      // Ended while lost (out of attempts, or cancelled): the attempt ended with its worker.
      if (currentEntry(task)?.byLoss && task.lostAttempt?.attempt === task.attempt) return;
      closeCurrent(task, task.finishedAtMs ?? nowMs, transition.status);
      return;
    case 'scheduled':
      return;
  }
}

/**
 * Closes the task's current attempt in its log, unless it ended already; one closed only
 * because its worker was lost is closed again by what comes of it (a late report).
 */
function closeCurrent(
  task: TaskRecord,
  atMs: number,
  outcome: string,
  /** The attempt to close, when not the task's current one (see TaskTransition). */
  attempt = task.attempt,
): AttemptLogEntry | undefined {
  const entry = task.attemptLog?.findLast((e) => e.attempt === attempt);
  if (entry === undefined || (entry.endedAtMs !== undefined && !entry.byLoss)) return undefined;
  close(entry, atMs, outcome);
  entry.error = task.error;
  delete entry.byLoss;
  return entry;
}

function currentEntry(task: TaskRecord): AttemptLogEntry | undefined {
  return task.attemptLog?.findLast((e) => e.attempt === task.attempt);
}

function close(entry: AttemptLogEntry, atMs: number, outcome: string): void {
  entry.endedAtMs = atMs;
  entry.outcome = outcome;
}

/** Keeps when the attempt was heard to begin, before the task moves on to another. */
function keepBegan(task: TaskRecord, entry: AttemptLogEntry): void {
  if (task.begunAttempt === entry.attempt && task.begunAtMs !== undefined) {
    entry.begunAtMs ??= task.begunAtMs;
  }
}
