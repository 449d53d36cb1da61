import type { TaskId } from '../shared/ids.js';

/** Told when a task of a concurrency key takes (+1) or frees (-1) a slot. */
export type KeyHoldsListener = (key: string, taskId: TaskId, delta: 1 | -1) => void;

/**
 * Slots held per concurrency key, across every worker: what a key's limit of running
 * tasks is checked against. A slot counts until it is free, so an attempt told to stop
 * (timed out, cancelled) counts until its worker says it stopped, and one on a lost worker
 * until the worker is forgotten: the limit holds for what may really run. Pure.
 */
export class KeyHolds {
  private readonly counts = new Map<string, number>();

  constructor(private readonly listener: KeyHoldsListener) {}

  /** Slots held by tasks with this key. */
  of(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  /** A task of `key` (none: nothing to count) took or freed a slot. */
  count(key: string | undefined, taskId: TaskId, delta: 1 | -1): void {
    if (key === undefined) return;
    const count = this.of(key) + delta;
    if (count > 0) this.counts.set(key, count);
    else this.counts.delete(key);
    this.listener(key, taskId, delta);
  }
}
