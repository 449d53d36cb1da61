import type { MemberId, TaskId } from '../shared/ids.js';
import type { OutputChunk } from '../scheduler/task-output.js';
import type { TaskRecord } from '../scheduler/task.js';
import type { CronView } from './cron/cron-schedules.js';
import type { LimitView } from './limit-controls.js';
import type { Pause } from './pauses.js';
import type { MemberView } from './views.js';

/** A saved change to the task list. The record is live: read it before returning. */
export type TaskEvent =
  | { readonly kind: 'changed'; readonly task: TaskRecord }
  | { readonly kind: 'deleted'; readonly id: TaskId };

/** A change to a member (state, quarantine, drain, load), or its removal from the list. */
export type MemberEvent =
  | { readonly kind: 'changed'; readonly view: MemberView }
  | { readonly kind: 'removed'; readonly id: MemberId };

/** New output of a task, or the end of it (the task finished). */
export type OutputEvent =
  { readonly kind: 'chunk'; readonly chunk: OutputChunk } | { readonly kind: 'end' };

/**
 * A saved change of an operator's control: a pause, limit or cron schedule as it is now,
 * or as it was before it was removed.
 */
export type ControlChange =
  | { readonly type: 'pause'; readonly pause: Pause; readonly removed: boolean }
  | { readonly type: 'limit'; readonly limit: LimitView; readonly removed: boolean }
  | { readonly type: 'cron'; readonly schedule: CronView; readonly removed: boolean };

/**
 * Fans task and member changes out to watchers (gRPC streams, SSE). Listeners are called
 * synchronously and must copy what they need; with no listener, emitting costs a check,
 * so the hot path pays nothing when nobody watches.
 */
export class ClusterEvents {
  private readonly taskListeners = new Set<(event: TaskEvent) => void>();
  private readonly memberListeners = new Set<(event: MemberEvent) => void>();
  private readonly controlListeners = new Set<(change: ControlChange) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private readonly outputListeners = new Map<TaskId, Set<(event: OutputEvent) => void>>();

  /** True while someone watches tasks. */
  get watchingTasks(): boolean {
    return this.taskListeners.size > 0;
  }

  /** True while someone watches members. */
  get watchingMembers(): boolean {
    return this.memberListeners.size > 0;
  }

  /** Adds a task listener; returns its removal. */
  onTask(listener: (event: TaskEvent) => void): () => void {
    this.taskListeners.add(listener);
    return () => this.taskListeners.delete(listener);
  }

  /** Adds a member listener; returns its removal. */
  onMember(listener: (event: MemberEvent) => void): () => void {
    this.memberListeners.add(listener);
    return () => this.memberListeners.delete(listener);
  }

  /** Adds a listener for control changes (pauses, limits, cron); returns its removal. */
  onControl(listener: (change: ControlChange) => void): () => void {
    this.controlListeners.add(listener);
    return () => this.controlListeners.delete(listener);
  }

  emitControl(change: ControlChange): void {
    for (const listener of this.controlListeners) listener(change);
  }

  /** Called once when the leader shuts down, so open watches can end; returns its removal. */
  onClose(listener: (reason: string) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /** Ends every watch: the leader is shutting down. */
  close(reason: string): void {
    for (const listener of [...this.closeListeners]) listener(reason);
    this.closeListeners.clear();
  }

  /** Follows one task's output; returns the removal. */
  onOutput(taskId: TaskId, listener: (event: OutputEvent) => void): () => void {
    let listeners = this.outputListeners.get(taskId);
    if (!listeners) {
      listeners = new Set();
      this.outputListeners.set(taskId, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.outputListeners.delete(taskId);
    };
  }

  emitOutput(taskId: TaskId, event: OutputEvent): void {
    const listeners = this.outputListeners.get(taskId);
    if (!listeners) return;
    for (const listener of [...listeners]) listener(event);
  }

  emitTask(event: TaskEvent): void {
    for (const listener of this.taskListeners) listener(event);
  }

  emitMember(event: MemberEvent): void {
    for (const listener of this.memberListeners) listener(event);
  }
}
