import type { MemberId } from '../shared/ids.js';
import type { BTree } from './sorted-btree.js';
import type { TaskRecord, TaskStatus } from './task.js';

/** Filter and page for {@link listPage}. */
export interface TaskQuery {
  readonly status?: TaskStatus | undefined;
  readonly memberId?: MemberId | undefined;
  readonly kind?: string | undefined;
  readonly pageSize: number;
  /**
   * Where the page starts: only tasks created after this one (oldest first), or before it
   * (newest first): the previous page's `nextAfterSeq`.
   */
  readonly afterSeq?: number | undefined;
  /** The most recently created task first. */
  readonly newestFirst?: boolean | undefined;
  /**
   * A bound on the page's size on the wire (payload, result and error at 3 bytes a UTF-16
   * unit): the page ends before a task that would pass it, with at least one task, so a
   * page of large tasks still fits a client's message limit.
   */
  readonly maxBytes?: number | undefined;
}

/** A page of {@link listPage}. */
export interface TaskPage {
  readonly tasks: TaskRecord[];
  /**
   * Where the next page starts (pass as `afterSeq`), or undefined at the end. A page may
   * hold fewer than `pageSize` tasks and still have a next page: each call examines a
   * bounded number of records so a sparse filter cannot make one call slow.
   */
  readonly nextAfterSeq: number | undefined;
}

/** Most records one list call examines, whatever the filter (keeps every call cheap). */
export const MAX_LIST_SCAN = 10_000;

/**
 * One page of the tasks in `tree` (keyed by seq), in creation order or newest first, from
 * the query's page start (O(log n + page)); member and kind filters are applied while
 * walking, within {@link MAX_LIST_SCAN} records per call, and the page ends before a task
 * that would pass `maxBytes`.
 */
export function listPage(tree: BTree<number, TaskRecord>, query: TaskQuery): TaskPage {
  const { memberId, kind, newestFirst } = query;
  const entries = newestFirst
    ? tree.entriesReversed(query.afterSeq === undefined ? undefined : query.afterSeq - 1)
    : tree.entries((query.afterSeq ?? 0) + 1);
  const tasks: TaskRecord[] = [];
  const maxBytes = query.maxBytes ?? Infinity;
  let scanned = 0;
  let bytes = 0;
  // More records follow: the next page starts at the first one not taken.
  const cutAt = (seq: number): TaskPage => ({
    tasks,
    nextAfterSeq: newestFirst ? seq + 1 : seq - 1,
  });
  for (const [seq, task] of entries) {
    if (tasks.length >= query.pageSize || scanned >= MAX_LIST_SCAN) return cutAt(seq);
    if (!matches(task, memberId, kind)) {
      scanned++;
      continue;
    }
    const size = maxBytes === Infinity ? 0 : taskBytes(task);
    if (tasks.length > 0 && bytes + size > maxBytes) return cutAt(seq);
    scanned++;
    bytes += size;
    tasks.push(task);
  }
  return { tasks, nextAfterSeq: undefined };
}

/** Whether a task passes a list's member and kind filters. */
function matches(
  task: TaskRecord,
  memberId: MemberId | undefined,
  kind: string | undefined,
): boolean {
  return (
    (memberId === undefined || task.memberId === memberId) &&
    (kind === undefined || task.kind === kind)
  );
}

/** An upper bound on a task's size on the wire, from its long fields (see TaskQuery.maxBytes). */
function taskBytes(task: TaskRecord): number {
  return (task.payload.length + (task.result?.length ?? 0) + (task.error?.length ?? 0)) * 3 + 512;
}
