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
  /** Tasks a worker may hold beyond its slots (never more than its slot count); 0: none. */
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

/** No prefetch: a worker gets no more tasks than it has slots. */
export const NO_PREFETCH: PrefetchPolicy = { maxTasks: 0, shortAttemptMs: 0 };

/**
 * Weight of the newest attempt in a worker's moving average of attempt times: about the
 * last ten count, so one slow task does not stop prefetch, and a run of them does.
 */
export const RECENT_ATTEMPT_WEIGHT = 0.2;
