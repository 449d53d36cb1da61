import type { MemberId, TaskId } from '../shared/ids.js';
import { BTree } from './sorted-btree.js';

/** A timed start's place in activation order: (run time, a tie-breaking count). */
type ActivationKey = [number, number];

function compareActivationKeys(a: ActivationKey, b: ActivationKey): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * Tasks handed to a worker ahead of their run time (timed starts, see timed-starts.ts) that
 * have not reached it yet: the worker holds them and starts each at its run time. A
 * floating one takes none of its slots until then, a reserved one took a slot at the
 * hand-off; at the run time both become ordinary running tasks ({@link takeDue}). Pure.
 */
export class TimedHolds {
  /** Per worker, its held tasks: true if floating (no slot until the run time). */
  private readonly byMember = new Map<MemberId, Map<TaskId, boolean>>();
  private readonly floatingOn = new Map<MemberId, number>();
  /**
   * Every hold by run time. An entry whose hold ended early (a report, a cancel, a lost
   * worker) stays here until its time and is then skipped: cheaper than a second index.
   */
  private readonly order = new BTree<ActivationKey, { memberId: MemberId; taskId: TaskId }>(
    undefined,
    compareActivationKeys,
  );
  private count = 0;

  /** The worker holds the task until `runAtMs`, floating (taking no slot) or not. */
  hold(memberId: MemberId, taskId: TaskId, runAtMs: number, floating: boolean): void {
    let held = this.byMember.get(memberId);
    if (held === undefined) this.byMember.set(memberId, (held = new Map()));
    held.set(taskId, floating);
    if (floating) this.floatingOn.set(memberId, this.floatingCountOn(memberId) + 1);
    this.order.set([runAtMs, ++this.count], { memberId, taskId });
  }

  /** Floating timed starts a worker holds: tasks it was given that take none of its slots. */
  floatingCountOn(memberId: MemberId): number {
    return this.floatingOn.get(memberId) ?? 0;
  }

  /** The tasks a worker holds as timed starts not yet at their run time. */
  tasksOn(memberId: MemberId): TaskId[] {
    return [...(this.byMember.get(memberId)?.keys() ?? [])];
  }

  /** Ends a hold before its run time; false if there was none. */
  forget(memberId: MemberId, taskId: TaskId): boolean {
    const held = this.byMember.get(memberId);
    const floating = held?.get(taskId);
    if (held === undefined || floating === undefined) return false;
    held.delete(taskId);
    if (held.size === 0) this.byMember.delete(memberId);
    if (floating) {
      const left = this.floatingCountOn(memberId) - 1;
      if (left > 0) this.floatingOn.set(memberId, left);
      else this.floatingOn.delete(memberId);
    }
    return true;
  }

  /** Ends every hold of a worker (it is gone); returns the tasks it held so. */
  forgetMember(memberId: MemberId): TaskId[] {
    const held = this.byMember.get(memberId);
    this.byMember.delete(memberId);
    this.floatingOn.delete(memberId);
    return held === undefined ? [] : [...held.keys()];
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
