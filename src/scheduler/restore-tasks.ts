import type { KeyLimits } from './key-limits.js';
import type { TaskQueue } from './queue.js';
import type { QueueSeqs } from './queue-seqs.js';
import type { TaskRecord } from './task.js';
import type { TaskIndex } from './task-index.js';

/** What rebuilding the task list from stored records fills in. */
export interface RestoreContext {
  readonly index: TaskIndex;
  readonly queue: Pick<TaskQueue, 'push'>;
  readonly seqs: Pick<QueueSeqs, 'observe'>;
  readonly keyLimits: Pick<KeyLimits, 'holdLost'>;
}

/** Fills an empty scheduler from stored records; see {@link Scheduler.restore}. */
export function restoreTasks(
  ctx: RestoreContext,
  records: readonly TaskRecord[],
): { ignored: TaskRecord[] } {
  if (ctx.index.size > 0) throw new Error('restore() needs an empty scheduler');
  const { kept, ignored } = ctx.index.restore(records);
  const pending: TaskRecord[] = [];
  for (const task of kept) {
    // Taken as begun: which running tasks were only held on their worker died with the
    // last leader, so their timeouts count from their start and a lost worker is charged
    // for them, as for a worker that sends no began notices.
    if (task.status === 'running') task.begunAttempt = task.attempt;
    // Those waiting out a retry backoff are queued when promoteDue says.
    if (task.status === 'pending' && task.retryAtMs === undefined) pending.push(task);
    // A running task may still run on a worker that has not re-attached it yet: it
    // counts against its key until then (or until the re-attach grace ends).
    if (task.status === 'running' && task.concurrencyKey !== undefined) {
      const { id: taskId, attempt, memberId, concurrencyKey: key } = task;
      ctx.keyLimits.holdLost({ taskId, attempt, memberId: memberId!, key });
    }
    ctx.seqs.observe(task.queueSeq);
  }
  // In queue order, so every push lands at a tail (O(1)).
  pending.sort((a, b) => a.queueSeq - b.queueSeq);
  for (const task of pending) ctx.queue.push(task);
  return { ignored };
}
