// How far the leader may hand a worker more than its free slots: prefetch, timed starts.

/**
 * How far the leader may run ahead of a worker's free slots. A worker that runs short tasks
 * spends most of a slot's cycle waiting for the leader (its report, the commit of its next
 * assignment, the start order on the way back); handing it a few tasks more than it has
 * slots lets the next one start the moment a slot frees, and its start order travels and
 * commits while the slot is still busy. Only short tasks: a task handed ahead waits on
 * its worker for a slot, so behind a long one it would wait while another worker idles.
 */
export interface PrefetchPolicy {
  /**
   * The most tasks a worker may hold beyond its slots; how many it gets below that depends
   * on how short its tasks are (prefetchDepth). 0: none.
   */
  readonly maxTasks: number;
  /** The most a worker's recent attempts may take on average for it to get any, in ms. */
  readonly shortAttemptMs: number;
}

/** The lines of workers waiting for work: a slot free now, or busy with room to prefetch. */
export type WorkerLine = 'free' | 'ahead';

/**
 * The most timed starts a worker of short tasks may hold per slot without taking it before
 * their run times: enough for 10,000 tasks a second due over a lead of 100 ms on 4 workers
 * of 8 slots, bounded so a burst of run times does not pile onto one worker.
 */
export const TIMED_STARTS_PER_SLOT = 64;

/**
 * How many tasks a worker of short tasks may hold beyond its `slots`, given how long its
 * attempts lately took (`recentMs`, from start order to report): as many per slot as fit in
 * `shortAttemptMs` one after another, at least one, at most `maxTasks` in all. Its slots
 * work through what it holds in parallel, so while its tasks keep that pace the last one
 * handed ahead waits about (ahead / slots) x recentMs <= shortAttemptMs before it starts
 * (tasks that turn long before any of them reports wait longer: the leader cannot know a
 * task's length before it runs, and the deeper the prefetch the more of them): deep
 * for tasks far shorter than the leader's round trip (empty handlers need several per slot
 * to keep a slot busy while a report, its commit and the next start order travel), one per
 * slot for tasks near the limit, where the round trip is a small part of the cycle.
 */
export function prefetchDepth(slots: number, recentMs: number, policy: PrefetchPolicy): number {
  const perSlot =
    recentMs <= 0 ? Infinity : Math.max(1, Math.floor(policy.shortAttemptMs / recentMs));
  return Math.min(policy.maxTasks, slots * perSlot);
}

/** No prefetch: a worker gets no more tasks than it has slots. */
export const NO_PREFETCH: PrefetchPolicy = { maxTasks: 0, shortAttemptMs: 0 };

/**
 * Weight of the newest attempt in a worker's moving average of attempt times: about the
 * last ten count, so one slow task does not stop prefetch, and a run of them does.
 */
export const RECENT_ATTEMPT_WEIGHT = 0.2;
