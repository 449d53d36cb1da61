import { TaskCounts } from './task-counts.js';
import type { MemberId, TaskId } from '../shared/ids.js';
import type { Taker } from './queue.js';
import { attemptKey } from './task.js';
import {
  NO_PREFETCH,
  prefetchDepth,
  TIMED_STARTS_PER_SLOT,
  type PrefetchPolicy,
  type WorkerLine,
} from './slot-policy.js';
import { TimedHolds } from './timed-holds.js';
import { AttemptPace } from './attempt-pace.js';
import { KeyHolds, type KeyHoldsListener } from './key-holds.js';
import { KindCoverage } from './kind-coverage.js';
import {
  keptAbilities,
  keyedHoldsOf,
  newestHeld,
  newWorker,
  type KeyedHold,
  type Worker,
  type WorkerAbilities,
} from './worker-record.js';

export { NO_PREFETCH, type PrefetchPolicy, type WorkerLine } from './slot-policy.js';

export type { KeyHoldsListener } from './key-holds.js';

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
  private readonly stoppingTasks = new TaskCounts();
  /** Slots held per concurrency key. */
  private readonly keyHolds: KeyHolds;
  /** Timed starts before their run time: in `running`, yet taking no slot until then. */
  private readonly timed = new TimedHolds();
  /** Eligible workers that may be handed timed starts now, in round-robin order. */
  private readonly timedLine = new Set<MemberId>();
  /** How long each worker's attempts, and each kind's, have lately taken. */
  private readonly workerPace: AttemptPace<MemberId>;
  private readonly kindPace: AttemptPace<string>;
  /** Eligible workers per kind they run. */
  private readonly coverage = new KindCoverage();

  constructor(
    onKeyHolds: KeyHoldsListener = () => {},
    private readonly prefetch: PrefetchPolicy = NO_PREFETCH,
  ) {
    this.keyHolds = new KeyHolds(onKeyHolds);
    this.workerPace = new AttemptPace(prefetch.shortAttemptMs);
    this.kindPace = new AttemptPace(prefetch.shortAttemptMs);
  }

  /** Slots held by tasks with this concurrency key. */
  heldByKey(key: string): number {
    return this.keyHolds.of(key);
  }

  /** True if the worker is known. */
  has(id: MemberId): boolean {
    return this.workers.has(id);
  }

  /** True if some worker that may get new work runs `kind`. */
  servesKind(kind: string): boolean {
    return this.coverage.covers(kind);
  }

  /** True if the worker is known and runs tasks of `kind`. */
  runsKind(id: MemberId, kind: string): boolean {
    return this.workers.get(id)?.kinds.has(kind) ?? false;
  }

  /** True if the worker is known and may get new work (alive, not draining). */
  isEligible(id: MemberId): boolean {
    return this.workers.get(id)?.eligible ?? false;
  }

  /**
   * Adds a worker, or updates its slots, kinds and abilities on a rejoin; it starts
   * ineligible. A timed-starts worker can hold a task until its run time (timed-starts.ts).
   */
  upsert(id: MemberId, slots: number, kinds: ReadonlySet<string>, can: WorkerAbilities = {}): void {
    const [abilities, worker] = [keptAbilities(can), this.workers.get(id)];
    if (worker === undefined)
      return void this.workers.set(id, newWorker(id, slots, kinds, abilities));
    this.coverage.change(worker, (w) => Object.assign(w, { slots, kinds, ...abilities }));
    this.refreshReady(worker);
  }

  /** True if the worker says which attempts it has begun (see unbegun-loss.ts). */
  sendsBeganNotices(id: MemberId): boolean {
    return this.workers.get(id)?.beganNotices ?? false;
  }

  /** How long the worker's attempts may outlive it (JoinRequest.loss_fence_ms); 0 unknown. */
  lossFenceMs(id: MemberId): number {
    return this.workers.get(id)?.lossFenceMs ?? 0;
  }

  /** Allows or stops new work to a worker; an unknown one is ignored. */
  setEligible(id: MemberId, eligible: boolean): void {
    const worker = this.workers.get(id);
    if (!worker) return;
    this.coverage.change(worker, (w) => (w.eligible = eligible));
    this.refreshReady(worker);
  }

  /**
   * Forgets a worker, with the attempts it was told to stop. Returns the tasks that held
   * its slots, or undefined if it was not known.
   */
  remove(id: MemberId): TaskId[] | undefined {
    const worker = this.workers.get(id);
    if (!worker) return undefined;
    this.coverage.change(worker, (w) => (w.eligible = false));
    this.workers.delete(id);
    this.ready.delete(id);
    this.spare.delete(id);
    this.timedLine.delete(id);
    this.timed.forgetMember(id);
    this.workerPace.forget(id);
    for (const { taskId, key } of worker.stopping.values()) {
      this.stoppingTasks.remove(taskId);
      this.keyHolds.count(key, taskId, -1);
    }
    for (const [taskId, key] of worker.running) this.keyHolds.count(key, taskId, -1);
    return [...worker.running.keys()];
  }

  /** Workers in a line: `free` (a slot free now) or `ahead` (busy, room to prefetch). */
  lineSize(line: WorkerLine): number {
    return (line === 'free' ? this.ready : this.spare).size;
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

  /** Puts a worker taken with {@link nextIn} back at the end of its line. */
  putBack(id: MemberId): void {
    const worker = this.workers.get(id);
    if (worker) this.refreshReady(worker);
  }

  /**
   * A worker reported the end of an attempt that took `ms` from its start order: its
   * moving average decides whether it may get tasks ahead of its free slots.
   */
  observeAttempt(id: MemberId | undefined, ms: number, kind?: string): void {
    const worker = id === undefined ? undefined : this.workers.get(id);
    if (!worker || this.prefetch.maxTasks === 0) return;
    if (kind !== undefined) this.kindPace.observe(kind, ms);
    this.workerPace.observe(worker.id, ms);
    this.refreshReady(worker);
  }

  /** Tasks a worker may hold now: its slots, and room to prefetch while its tasks are short. */
  private capacity(worker: Worker): number {
    if (this.prefetch.maxTasks === 0 || !this.workerPace.isShort(worker.id)) return worker.slots;
    const recentMs = this.workerPace.recent(worker.id)!; // short: it has an average
    return worker.slots + prefetchDepth(worker.slots, recentMs, this.prefetch);
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
    this.keyHolds.count(key, taskId, 1);
    this.refreshReady(worker);
  }

  /** Frees the slot a task held on a worker, if it held one. */
  release(id: MemberId | undefined, taskId: TaskId): void {
    if (id === undefined) return;
    const worker = this.workers.get(id);
    if (!worker?.running.has(taskId)) return;
    const key = worker.running.get(taskId);
    worker.running.delete(taskId);
    this.timed.forget(id, taskId);
    this.keyHolds.count(key, taskId, -1);
    this.refreshReady(worker);
  }

  /**
   * Hands a worker a task it starts at `runAtMs` (a timed start, or one it re-attached),
   * listed as running there (so it is re-attached, reported and lost like any). On a worker
   * with room to float it (see {@link floatRoom}) it takes a slot only from its run time
   * ({@link activateDue}); on any other it takes a free slot from now, so nothing else
   * is given that slot meanwhile. Unkeyed tasks only: a key's limit counts from the hand-off.
   */
  holdTimed(id: MemberId, taskId: TaskId, runAtMs: number, floatable = true): void {
    const worker = this.workers.get(id);
    if (!worker) throw new Error(`member ${id} is not a known worker`);
    const floats = floatable && this.floatRoom(worker) > 0;
    worker.running.set(taskId, undefined);
    this.timed.hold(id, taskId, runAtMs, floats);
    // To the back of the timed line: the next timed start goes to another worker.
    this.timedLine.delete(id);
    this.refreshReady(worker);
  }

  /** Timed starts whose run time has come now take their workers' slots. */
  activateDue(nowMs: number): void {
    for (const id of this.timed.takeDue(nowMs)) {
      const worker = this.workers.get(id);
      if (worker) this.refreshReady(worker);
    }
  }

  /** When {@link activateDue} next has work, if ever. */
  nextActivationAtMs(): number | undefined {
    return this.timed.nextAtMs();
  }

  /** Tasks a worker holds as timed starts whose run time has not come. */
  timedOn(id: MemberId): TaskId[] {
    return this.timed.tasksOn(id);
  }

  /**
   * Workers that may be handed a timed start now, first in line first. Lazy: stop
   * iterating before handing one a task ({@link holdTimed} moves it in the line).
   */
  *timedCandidates(): Generator<Taker> {
    for (const id of this.timedLine) yield this.workers.get(id)!;
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
    return worker !== undefined && this.slotsUsed(worker) < worker.slots;
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
    this.timed.forget(id, taskId);
    worker.stopping.set(attemptKey(taskId, attempt), { taskId, key, attempt });
    this.stoppingTasks.add(taskId);
  }

  /** Frees the slot a stopped (timed-out) attempt held; false if it held none. */
  releaseStopping(id: MemberId, taskId: TaskId, attempt: number): boolean {
    const worker = this.workers.get(id);
    const held = worker?.stopping.get(attemptKey(taskId, attempt));
    if (worker === undefined || held === undefined) return false;
    worker.stopping.delete(attemptKey(taskId, attempt));
    this.stoppingTasks.remove(taskId);
    this.keyHolds.count(held.key, taskId, -1);
    this.refreshReady(worker);
    return true;
  }

  /** The slots of a worker held by tasks with a concurrency key (see keyedHoldsOf). */
  keyedHolds(id: MemberId): KeyedHold[] {
    const worker = this.workers.get(id);
    return worker === undefined ? [] : keyedHoldsOf(worker);
  }

  /** Ids of the tasks holding a worker's slots. */
  runningOn(id: MemberId): TaskId[] {
    return [...(this.workers.get(id)?.running.keys() ?? [])];
  }

  /** Eligible workers with a slot free now, each with how many (see held-recall.ts). */
  idleSlots(): { taker: Taker; free: number }[] {
    return [...this.ready].map((id) => {
      const worker = this.workers.get(id)!;
      return { taker: worker, free: worker.slots - this.slotsUsed(worker) };
    });
  }

  /**
   * Per worker that holds tasks beyond its slots, those tasks, newest hand-off first: the
   * ones it will start last, as a worker starts what it holds in the order it got it. An
   * estimate by count (a report on its way still holds a slot here; recallHeld passes
   * over those the worker said it began); timed starts before their run time are not
   * among them.
   */
  *heldAhead(): Generator<{ memberId: MemberId; taker: Taker; taskIds: TaskId[] }> {
    for (const worker of this.workers.values()) {
      const extra = this.slotsUsed(worker) - worker.slots;
      if (extra <= 0) continue;
      const taskIds = newestHeld(worker, extra, new Set(this.timed.tasksOn(worker.id)));
      yield { memberId: worker.id, taker: worker, taskIds };
    }
  }

  /** Slots of a worker held by attempts it was told to stop and has not reported yet. */
  stoppingOn(id: MemberId): number {
    return this.workers.get(id)?.stopping.size ?? 0;
  }

  /**
   * True if attempts of `kind` have lately been short (as for prefetch), across workers:
   * only such a task may float on a worker (see {@link holdTimed}). A kind not seen yet is
   * not short: a burst of long delayed tasks (a nightly cron) must not pile onto one worker
   * because its other tasks were short.
   */
  isShortKind(kind: string): boolean {
    return this.kindPace.isShort(kind);
  }

  /**
   * Timed starts a worker may yet hold without a slot each until their run times: up to
   * TIMED_STARTS_PER_SLOT a slot on a worker whose recent tasks are short; none on any
   * other, or one not known yet. A delayed task of a short kind that turns out long waits on
   * such a worker for a slot, as a prefetched one does.
   */
  private floatRoom(worker: Worker): number {
    if (!this.workerPace.isShort(worker.id)) return 0;
    return worker.slots * TIMED_STARTS_PER_SLOT - this.timed.floatingCountOn(worker.id);
  }

  /** Slots a worker's tasks take: running ones (not timed starts yet to run) and stopping. */
  private slotsUsed(worker: Worker): number {
    return worker.running.size + worker.stopping.size - this.timed.floatingCountOn(worker.id);
  }

  /**
   * Files the worker in the lines it belongs in now: free slot, room to prefetch, or none;
   * and whether it may be handed timed starts: into its float room, or a slot free now.
   */
  private refreshReady(worker: Worker): void {
    const used = this.slotsUsed(worker);
    const timedRoom = this.floatRoom(worker) > 0 || used < worker.slots;
    if (worker.eligible && worker.timedStarts && timedRoom) this.timedLine.add(worker.id);
    else this.timedLine.delete(worker.id);
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
