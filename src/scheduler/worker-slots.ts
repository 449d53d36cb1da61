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
  /**
   * How long this worker's attempts have lately taken, from start order to report, in ms
   * (a moving average); undefined until one has been reported.
   */
  recentAttemptMs: number | undefined;
}

/**
 * How far the leader may run ahead of a worker's free slots. A worker that runs short tasks
 * spends most of a slot's cycle waiting for the leader (its report, the commit of its next
 * assignment, the start order on the way back); handing it a few tasks more than it has
 * slots lets the next one start the moment a slot frees, and its start order travels and
 * commits while the slot is still busy. Only short tasks: a task handed ahead waits on
 * its worker for a slot, so behind a long one it would wait while another worker idles.
 */
export interface PrefetchPolicy {
  /** Tasks a worker may hold beyond its slots (never more than its slot count); 0: none. */
  readonly maxTasks: number;
  /** The most a worker's recent attempts may take on average for it to get any, in ms. */
  readonly shortAttemptMs: number;
}

/** The lines of workers waiting for work: a slot free now, or busy with room to prefetch. */
export type WorkerLine = 'free' | 'ahead';

/** No prefetch: a worker gets no more tasks than it has slots. */
export const NO_PREFETCH: PrefetchPolicy = { maxTasks: 0, shortAttemptMs: 0 };

/**
 * Weight of the newest attempt in a worker's moving average of attempt times: about the
 * last ten count, so one slow task does not stop prefetch, and a run of them does.
 */
const RECENT_ATTEMPT_WEIGHT = 0.2;

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
   * Eligible workers with every slot busy and room to prefetch: an assignment round offers
   * them work only after every worker in {@link ready} has taken what it can, so a task
   * goes ahead to a busy worker only when no idle slot anywhere could start it now (an
   * idle worker of other kinds, or not the task's target, does not hold prefetch back).
   */
  private readonly spare = new Set<MemberId>();
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

  constructor(
    private readonly onKeyHolds: KeyHoldsListener = () => {},
    private readonly prefetch: PrefetchPolicy = NO_PREFETCH,
  ) {}

  /** Slots held by tasks with this concurrency key. */
  heldByKey(key: string): number {
    return this.keyHolds.get(key) ?? 0;
  }

  /** Number of workers in the line for work (eligible, with a free slot or room to prefetch). */
  get readyCount(): number {
    return this.ready.size + this.spare.size;
  }

  /** True if the worker is known. */
  has(id: MemberId): boolean {
    return this.workers.has(id);
  }

  /** True if the worker is known and may get new work (alive, not draining). */
  isEligible(id: MemberId): boolean {
    return this.workers.get(id)?.eligible ?? false;
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
      recentAttemptMs: undefined,
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
    this.spare.delete(id);
    for (const { taskId, key } of worker.stopping.values()) {
      this.unmarkStopping(taskId);
      this.countKey(key, taskId, -1);
    }
    for (const [taskId, key] of worker.running) this.countKey(key, taskId, -1);
    return [...worker.running.keys()];
  }

  /** Workers in a line: `free` (a slot free now) or `ahead` (busy, room to prefetch). */
  lineSize(line: WorkerLine): number {
    return (line === 'free' ? this.ready : this.spare).size;
  }

  /**
   * Takes the worker first in line for work out of the line: the `free` line while it has
   * workers, else the `ahead` line. See {@link nextIn}.
   */
  nextReady(): Taker | undefined {
    return this.nextIn(this.ready.size > 0 ? 'free' : 'ahead');
  }

  /**
   * Takes the worker first in a line out of it. The caller then either gives it a task
   * ({@link occupy}, which puts it back at the end of the line it now belongs to, if any)
   * or puts it back at the end with {@link putBack}.
   */
  nextIn(which: WorkerLine): Taker | undefined {
    const line = which === 'free' ? this.ready : this.spare;
    const id = line.values().next().value;
    if (id === undefined) return undefined;
    line.delete(id);
    return this.workers.get(id);
  }

  /** Puts a worker taken with {@link nextReady} back at the end of its line. */
  putBack(id: MemberId): void {
    const worker = this.workers.get(id);
    if (worker) this.refreshReady(worker);
  }

  /**
   * A worker reported the end of an attempt that took `ms` from its start order: its
   * moving average decides whether it may get tasks ahead of its free slots.
   */
  observeAttempt(id: MemberId | undefined, ms: number): void {
    const worker = id === undefined ? undefined : this.workers.get(id);
    if (!worker || this.prefetch.maxTasks === 0) return;
    const recent = worker.recentAttemptMs;
    worker.recentAttemptMs =
      recent === undefined ? ms : recent + RECENT_ATTEMPT_WEIGHT * (ms - recent);
    this.refreshReady(worker);
  }

  /** Tasks a worker may hold now: its slots, and room to prefetch while its tasks are short. */
  private capacity(worker: Worker): number {
    const { maxTasks, shortAttemptMs } = this.prefetch;
    const recent = worker.recentAttemptMs;
    if (maxTasks === 0 || recent === undefined || recent > shortAttemptMs) return worker.slots;
    return worker.slots + Math.min(maxTasks, worker.slots);
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

  /** Files the worker in the line it belongs in now: free slot, room to prefetch, or none. */
  private refreshReady(worker: Worker): void {
    const used = slotsUsed(worker);
    const ready = worker.eligible && used < worker.slots;
    const spare = worker.eligible && !ready && used < this.capacity(worker);
    if (ready) {
      this.spare.delete(worker.id);
      this.ready.add(worker.id);
    } else if (spare) {
      this.ready.delete(worker.id);
      this.spare.add(worker.id);
    } else {
      this.ready.delete(worker.id);
      this.spare.delete(worker.id);
    }
  }
}

function slotsUsed(worker: Worker): number {
  return worker.running.size + worker.stopping.size;
}
