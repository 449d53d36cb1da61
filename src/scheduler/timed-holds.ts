import type { MemberId, TaskId } from '../shared/ids.js';
import { BTree } from './sorted-btree.js';

/** A timed start's place in activation order: (run time, a tie-breaking count). */
type ActivationKey = [number, number];

function compareActivationKeys(a: ActivationKey, b: ActivationKey): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * Tasks handed to a worker ahead of their run time (timed starts, see timed-starts.ts) that
 * have not reached it yet: the worker holds them and starts each at its run time, so until
 * then none takes one of its slots; at the run time it does ({@link takeDue}). Pure.
 */
export class TimedHolds {
  private readonly byMember = new Map<MemberId, Set<TaskId>>();
  /**
   * Every hold by run time. An entry whose hold ended early (a report, a cancel, a lost
   * worker) stays here until its time and is then skipped: cheaper than a second index.
   */
  private readonly order = new BTree<ActivationKey, { memberId: MemberId; taskId: TaskId }>(
    undefined,
    compareActivationKeys,
  );
  private count = 0;

  /** The worker holds the task until `runAtMs`. */
  hold(memberId: MemberId, taskId: TaskId, runAtMs: number): void {
    let held = this.byMember.get(memberId);
    if (held === undefined) this.byMember.set(memberId, (held = new Set()));
    held.add(taskId);
    this.order.set([runAtMs, ++this.count], { memberId, taskId });
  }

  /** Timed starts a worker holds that have not reached their run time. */
  countOn(memberId: MemberId): number {
    return this.byMember.get(memberId)?.size ?? 0;
  }

  /** The tasks a worker holds as timed starts not yet at their run time. */
  tasksOn(memberId: MemberId): TaskId[] {
    return [...(this.byMember.get(memberId) ?? [])];
  }

  /** True if the worker holds the task as a timed start not yet at its run time. */
  has(memberId: MemberId, taskId: TaskId): boolean {
    return this.byMember.get(memberId)?.has(taskId) ?? false;
  }

  /** Ends a hold before its run time; false if there was none. */
  forget(memberId: MemberId, taskId: TaskId): boolean {
    const held = this.byMember.get(memberId);
    if (held === undefined || !held.delete(taskId)) return false;
    if (held.size === 0) this.byMember.delete(memberId);
    return true;
  }

  /** Ends every hold of a worker (it is gone); returns the tasks it held so. */
  forgetMember(memberId: MemberId): TaskId[] {
    const held = this.byMember.get(memberId);
    this.byMember.delete(memberId);
    return held === undefined ? [] : [...held];
  }

  /** Ends the holds whose run time is at or before `nowMs`; returns the workers they were on. */
  takeDue(nowMs: number): MemberId[] {
    const members = new Set<MemberId>();
    for (;;) {
      const first = this.order.minKey();
      if (first === undefined || first[0] > nowMs) break;
      const { memberId, taskId } = this.order.get(first)!;
      this.order.delete(first);
      if (this.forget(memberId, taskId)) members.add(memberId);
    }
    return [...members];
  }

  /** The earliest run time a hold may reach (maybe of one already ended), if any. */
  nextAtMs(): number | undefined {
    return this.order.minKey()?.[0];
  }
}
