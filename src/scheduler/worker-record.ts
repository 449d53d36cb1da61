import type { MemberId, TaskId } from '../shared/ids.js';

/** What the scheduler tracks of a member that can run work. */
export interface Worker {
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
  /** It starts a task handed ahead at the task's run time (JoinRequest.timed_starts). */
  timedStarts: boolean;
  /** It says which attempts it has begun (JoinRequest.began_notices). */
  beganNotices: boolean;
  /** How long its attempts may outlive it (JoinRequest.loss_fence_ms). */
  lossFenceMs: number;
}

/** What a worker said at Join that it can do beyond running tasks. */
export interface WorkerAbilities {
  /** It starts a task handed ahead at the task's run time (JoinRequest.timed_starts). */
  readonly timedStarts?: boolean | undefined;
  /** It says which attempts it has begun (JoinRequest.began_notices). */
  readonly beganNotices?: boolean | undefined;
  /**
   * How long after its loss its attempts may still run (JoinRequest.loss_fence_ms): none
   * starts elsewhere sooner (worker-loss.ts). 0 if absent.
   */
  readonly lossFenceMs?: number | undefined;
}

/** Abilities as a worker record keeps them: each said or not. */
export function keptAbilities(can: WorkerAbilities): Required<{
  [K in keyof WorkerAbilities]: NonNullable<WorkerAbilities[K]>;
}> {
  return {
    timedStarts: can.timedStarts ?? false,
    beganNotices: can.beganNotices ?? false,
    lossFenceMs: can.lossFenceMs ?? 0,
  };
}

/** A new worker with no task: not eligible for work until told. */
export function newWorker(
  id: MemberId,
  slots: number,
  kinds: ReadonlySet<string>,
  abilities: ReturnType<typeof keptAbilities>,
): Worker {
  return {
    id,
    slots,
    kinds,
    running: new Map(),
    stopping: new Map(),
    eligible: false,
    ...abilities,
  };
}

/** A slot held by a task with a concurrency key; `attempt` is known for stopping ones. */
export interface KeyedHold {
  readonly taskId: TaskId;
  readonly key: string;
  readonly attempt: number | undefined;
}

/**
 * The worker's slots held by tasks with a concurrency key: running ones (their attempt is
 * the task's current one, which the scheduler knows) and stopping ones.
 */
export function keyedHoldsOf(worker: Worker): KeyedHold[] {
  const holds: KeyedHold[] = [];
  for (const [taskId, key] of worker.running) {
    if (key !== undefined) holds.push({ taskId, key, attempt: undefined });
  }
  for (const { taskId, key, attempt } of worker.stopping.values()) {
    if (key !== undefined) holds.push({ taskId, key, attempt });
  }
  return holds;
}

/** The worker's `count` newest hand-offs, newest first, passing over those in `skip`. */
export function newestHeld(worker: Worker, count: number, skip: ReadonlySet<TaskId>): TaskId[] {
  const taskIds: TaskId[] = [];
  const handedOut = [...worker.running.keys()];
  for (let i = handedOut.length - 1; i >= 0 && taskIds.length < count; i--) {
    if (!skip.has(handedOut[i]!)) taskIds.push(handedOut[i]!);
  }
  return taskIds;
}
