import type { MemberId, TaskId } from '../shared/ids.js';
import type { Taker } from './queue.js';
import { attemptKey } from './task.js';

/** What the scheduler tracks of a member that can run work. */
interface Worker {
  readonly id: MemberId;
  slots: number;
  kinds: ReadonlySet<string>;
  /**
   * Tasks holding a slot (running, or cancelled and not yet reported stopped), with their
   * concurrency keys.
   */
  readonly running: Map<TaskId, string | undefined>;
  /**
   * Attempts (`id#attempt`) the leader has given up on (timed out) but the worker was
   * told to stop and has not yet reported: they still hold a slot, since the worker may
   * still be running them, until the worker reports them or is lost.
   */
  readonly stopping: Map<
    string,
    { readonly taskId: TaskId; readonly key: string | undefined; readonly attempt: number }
  >;
  eligible: boolean;
}

/** Told when a task of a concurrency key takes (+1) or frees (-1) a slot. */
export type KeyHoldsListener = (key: string, taskId: TaskId, delta: 1 | -1) => void;

/**
 * Who can run work and which slots are taken: each worker's slot count and kinds, the
 * tasks holding its slots, and the line of eligible workers with a free slot. Knows task
 * ids only, never records or statuses (that is the scheduler's business). Pure.
 */
export class WorkerSlots {
  private readonly workers = new Map<MemberId, Worker>();
  /**
   * Eligible workers with a free slot, in the order they should next get work: a worker
   * that just got a task goes to the back, which spreads work across members.
   */
  private readonly ready = new Set<MemberId>();
  /**
   * Tasks with an attempt some worker was told to stop and has not reported (how many).
   * Such a task is not forgotten: its id could be reused, and the late report of the old
   * attempt would then be taken for the new task's.
   */
  private readonly stoppingTasks = new Map<TaskId, number>();
  /**
   * Slots held per concurrency key, across every worker: what a key's limit of running
   * tasks is checked against. A slot counts until it is free, so an attempt told to stop
   * (timed out, cancelled) counts until its worker says it stopped, and one on a lost
   * worker until the worker is forgotten: the limit holds for what may really run.
   */
  private readonly keyHolds = new Map<string, number>();

  constructor(private readonly onKeyHolds: KeyHoldsListener = () => {}) {}

  /** Slots held by tasks with this concurrency key. */
  heldByKey(key: string): number {
    return this.keyHolds.get(key) ?? 0;
  }

  /** Number of workers in the line for work (eligible, with a free slot). */
  get readyCount(): number {
    return this.ready.size;
  }

  /** True if the worker is known. */
  has(id: MemberId): boolean {
    return this.workers.has(id);
  }

  /** Adds a worker, or updates its slots and kinds on a rejoin; it starts ineligible. */
  upsert(id: MemberId, slots: number, kinds: ReadonlySet<string>): void {
    const worker = this.workers.get(id);
    if (worker) {
      worker.slots = slots;
      worker.kinds = kinds;
      this.refreshReady(worker);
      return;
    }
    this.workers.set(id, {
      id,
      slots,
      kinds,
      running: new Map(),
      stopping: new Map(),
      eligible: false,
    });
  }

  /** Allows or stops new work to a worker; an unknown one is ignored. */
  setEligible(id: MemberId, eligible: boolean): void {
    const worker = this.workers.get(id);
    if (!worker) return;
    worker.eligible = eligible;
    this.refreshReady(worker);
  }

  /**
   * Forgets a worker, with the attempts it was told to stop. Returns the tasks that held
   * its slots, or undefined if it was not known.
   */
  remove(id: MemberId): TaskId[] | undefined {
    const worker = this.workers.get(id);
    if (!worker) return undefined;
    this.workers.delete(id);
    this.ready.delete(id);
    for (const { taskId, key } of worker.stopping.values()) {
      this.unmarkStopping(taskId);
      this.countKey(key, taskId, -1);
    }
    for (const [taskId, key] of worker.running) this.countKey(key, taskId, -1);
    return [...worker.running.keys()];
  }

  /**
   * Takes the worker first in line for work out of the line. The caller then either gives
   * it a task ({@link occupy}, which puts it back at the end if it has a slot left) or
   * puts it back at the end with {@link putBack}.
   */
  nextReady(): Taker | undefined {
    const id = this.ready.values().next().value;
    if (id === undefined) return undefined;
    this.ready.delete(id);
    return this.workers.get(id);
  }

  /** Puts a worker taken with {@link nextReady} back at the end of the line. */
  putBack(id: MemberId): void {
    this.ready.add(id);
  }

  /**
   * A task now holds one of the worker's slots (it was started, or re-attached), counted
   * against its concurrency key if it has one.
   */
  occupy(id: MemberId, taskId: TaskId, key?: string): void {
    const worker = this.workers.get(id);
    if (!worker) throw new Error(`member ${id} is not a known worker`);
    if (worker.running.has(taskId)) return;
    worker.running.set(taskId, key);
    this.countKey(key, taskId, 1);
    this.refreshReady(worker);
  }

  /** Frees the slot a task held on a worker, if it held one. */
  release(id: MemberId | undefined, taskId: TaskId): void {
    if (id === undefined) return;
    const worker = this.workers.get(id);
    if (!worker?.running.has(taskId)) return;
    const key = worker.running.get(taskId);
    worker.running.delete(taskId);
    this.countKey(key, taskId, -1);
    this.refreshReady(worker);
  }

  /** True if the task holds one of this worker's slots as running. */
  holds(id: MemberId, taskId: TaskId): boolean {
    return this.workers.get(id)?.running.has(taskId) ?? false;
  }

  /**
   * True while a task still holds a worker's slot (its attempt runs on, or was told to
   * stop and has not confirmed): it must not be forgotten, or its id could be reused
   * under a late report.
   */
  holdsSlot(id: MemberId | undefined, taskId: TaskId): boolean {
    return (id !== undefined && this.holds(id, taskId)) || this.stoppingTasks.has(taskId);
  }

  /** True if the worker is known and has a slot no task holds. */
  hasFreeSlot(id: MemberId): boolean {
    const worker = this.workers.get(id);
    return worker !== undefined && slotsUsed(worker) < worker.slots;
  }

  /**
   * The leader gave up on a running attempt (it timed out) and tells the worker to stop
   * it: it keeps its slot, as a stopping attempt, until the worker reports it or is lost.
   * Nothing changes if the task held no slot there.
   */
  markStopping(id: MemberId, taskId: TaskId, attempt: number): void {
    const worker = this.workers.get(id);
    if (!worker?.running.has(taskId)) return;
    const key = worker.running.get(taskId);
    worker.running.delete(taskId);
    worker.stopping.set(attemptKey(taskId, attempt), { taskId, key, attempt });
    this.stoppingTasks.set(taskId, (this.stoppingTasks.get(taskId) ?? 0) + 1);
  }

  /** Frees the slot a stopped (timed-out) attempt held; false if it held none. */
  releaseStopping(id: MemberId, taskId: TaskId, attempt: number): boolean {
    const worker = this.workers.get(id);
    const held = worker?.stopping.get(attemptKey(taskId, attempt));
    if (worker === undefined || held === undefined) return false;
    worker.stopping.delete(attemptKey(taskId, attempt));
    this.unmarkStopping(taskId);
    this.countKey(held.key, taskId, -1);
    this.refreshReady(worker);
    return true;
  }

  /**
   * The slots of a worker held by tasks with a concurrency key: running ones (their
   * attempt is the task's current one, which the scheduler knows) and stopping ones.
   */
  keyedHolds(id: MemberId): { taskId: TaskId; key: string; attempt: number | undefined }[] {
    const worker = this.workers.get(id);
    if (worker === undefined) return [];
    const holds: { taskId: TaskId; key: string; attempt: number | undefined }[] = [];
    for (const [taskId, key] of worker.running) {
      if (key !== undefined) holds.push({ taskId, key, attempt: undefined });
    }
    for (const { taskId, key, attempt } of worker.stopping.values()) {
      if (key !== undefined) holds.push({ taskId, key, attempt });
    }
    return holds;
  }

  /** Ids of the tasks holding a worker's slots. */
  runningOn(id: MemberId): TaskId[] {
    return [...(this.workers.get(id)?.running.keys() ?? [])];
  }

  /** Slots of a worker held by attempts it was told to stop and has not reported yet. */
  stoppingOn(id: MemberId): number {
    return this.workers.get(id)?.stopping.size ?? 0;
  }

  private unmarkStopping(taskId: TaskId): void {
    const count = (this.stoppingTasks.get(taskId) ?? 0) - 1;
    if (count > 0) this.stoppingTasks.set(taskId, count);
    else this.stoppingTasks.delete(taskId);
  }

  private countKey(key: string | undefined, taskId: TaskId, delta: 1 | -1): void {
    if (key === undefined) return;
    const count = (this.keyHolds.get(key) ?? 0) + delta;
    if (count > 0) this.keyHolds.set(key, count);
    else this.keyHolds.delete(key);
    this.onKeyHolds(key, taskId, delta);
  }

  private refreshReady(worker: Worker): void {
    const ready = worker.eligible && slotsUsed(worker) < worker.slots;
    if (ready && !this.ready.has(worker.id)) this.ready.add(worker.id);
    else if (!ready) this.ready.delete(worker.id);
  }
}

function slotsUsed(worker: Worker): number {
  return worker.running.size + worker.stopping.size;
}
