import {
  errorMessage,
  NotLeaderError,
  StorageFullError,
  UnavailableError,
} from '../shared/errors.js';
import {
  FencedError,
  type StoredControl,
  type StoredOutput,
  type TaskStore,
} from '../scheduler/store/store.js';
import type { TaskOutputLog } from '../scheduler/task-output.js';
import { isFinal, type TaskRecord } from '../scheduler/task.js';
import type { TaskId } from '../shared/ids.js';
import type { ClusterEvents } from './cluster-events.js';

/** What the pipeline writes to and tells. */
export interface CommitPipelineDeps {
  readonly store: TaskStore;
  readonly events: ClusterEvents;
  readonly output: TaskOutputLog;
  /**
   * Called once a store write failed, before the caller's promise rejects: the leader can no
   * longer keep its promises and stops.
   */
  readonly onStoreFailure: (err: unknown) => void;
  /** Told of every save of task changes once it landed (metrics, attempt log). */
  readonly onSaved?: (changed: readonly TaskRecord[]) => void;
}

/**
 * The one path from a task change to the outside: save, then notify watchers, then act (tell
 * a worker, answer a caller). Nothing reaches a worker or a watcher before the change behind
 * it is stored, and a failed write stops the leader instead of being acted on.
 */
export class CommitPipeline {
  constructor(private readonly deps: CommitPipelineDeps) {}

  /**
   * Saves task changes, then tells watchers (they only ever see saved states). A task that
   * is now finished has all its output: followers of it are ended.
   */
  async save(changed: readonly TaskRecord[]): Promise<void> {
    const { events, output } = this.deps;
    // Watchers get each task as it was saved (copied now, once per task), not as it may
    // be by the time the commit lands.
    const saved = events.watchingTasks
      ? new Map(changed.map((task) => [task.id, { ...task }]))
      : undefined;
    // Finished as saved, not as they may be once the write lands: a task cancelled while an
    // earlier write of it is in flight must not end its followers before the cancel is saved.
    const finished = finishedIds(changed);
    await this.stored(this.deps.store.save(changed));
    this.deps.onSaved?.(changed);
    if (finished !== undefined) {
      for (const id of finished) {
        output.markFinished(id);
        events.emitOutput(id, { kind: 'end' });
      }
    }
    if (!saved) return;
    for (const task of changed) {
      // The attempt log is written once the commit landed (onSaved, above), after the copy
      // was made: a watcher gets it as it now is, or a task's first attempt would be missing
      // from the event that shows it running, and a page drawn from events would lack it.
      const copy = saved.get(task.id);
      if (copy && task.attemptLog) copy.attemptLog = task.attemptLog.map((e) => ({ ...e }));
    }
    for (const task of saved.values()) events.emitTask({ kind: 'changed', task });
  }

  /** Saves, then acts; with nothing to save, acts at once. A failed save never acts. */
  then(changed: readonly TaskRecord[], act: () => void): void {
    if (changed.length === 0) {
      act();
      return;
    }
    // A failure has already stopped the leader (see `stored`); nothing is acted on.
    this.save(changed).then(act, () => {});
  }

  /** Removes tasks from the store, then ends their output and tells watchers they are gone. */
  async remove(tasks: readonly TaskRecord[]): Promise<void> {
    await this.stored(this.deps.store.remove(tasks));
    const { events, output } = this.deps;
    for (const task of tasks) {
      output.forget(task.id);
      events.emitOutput(task.id, { kind: 'end' });
    }
    if (!events.watchingTasks) return;
    for (const task of tasks) events.emitTask({ kind: 'deleted', id: task.id });
  }

  /**
   * Keeps output for after a restart. Followers are not held back by this write: output is
   * a stream, not a promise, and a failed write stops the leader anyway. Resolves once the
   * chunks, and everything saved before them, have landed (with no chunks: once what was
   * saved before has), so a worker told then may forget its copy.
   */
  saveOutput(chunks: readonly StoredOutput[]): Promise<void> {
    const saved =
      chunks.length > 0 ? this.stored(this.deps.store.saveOutput(chunks)) : this.flushed();
    // Handled here: most callers do not wait, and a failure has stopped the leader already.
    saved.catch(() => {});
    return saved;
  }

  /** Resolves once every change saved before it has landed (see TaskStore.flushed). */
  async flushed(): Promise<void> {
    await this.stored(this.deps.store.flushed());
  }

  /** Saves controls (pauses), in order with the task changes around them. */
  async saveControls(controls: readonly StoredControl[]): Promise<void> {
    await this.stored(this.deps.store.saveControls(controls));
  }

  /**
   * Every store write goes through here. A store that cannot write makes every later
   * answer a lie: on failure the leader stops, and the caller's promise still rejects.
   */
  private async stored(write: Promise<void>): Promise<void> {
    try {
      await write;
    } catch (err) {
      this.deps.onStoreFailure(err);
      // The caller learns what happened in words it can act on, not INTERNAL.
      if (err instanceof FencedError) {
        throw new NotLeaderError(`the change was not saved: ${err.message}`);
      }
      throw isDiskFull(err)
        ? new StorageFullError(
            "the leader's disk is full: the change was not saved, and the leader has stopped",
          )
        : new UnavailableError(
            'the leader could not save the change (a store failure; see its log) and has stopped',
          );
    }
  }
}

/** Ids of the finished tasks among `changed`; undefined (no array made) when none is. */
function finishedIds(changed: readonly TaskRecord[]): TaskId[] | undefined {
  let ids: TaskId[] | undefined;
  for (const task of changed) if (isFinal(task.status)) (ids ??= []).push(task.id);
  return ids;
}

/** True for a write refused for want of space (SQLite's SQLITE_FULL, or ENOSPC from the OS). */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'SQLITE_FULL') return true;
  return /ENOSPC|disk is full|no space left/i.test(errorMessage(err));
}
