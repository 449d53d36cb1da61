import { shortStatus, type Task } from './types.js';

/** Rows a page shows: one screen, whatever the size of the task list. */
export const PAGE_SIZE = 50;

/** One page of the task list as shown, and the token of the next (older) page. */
export interface Page {
  readonly tasks: Task[];
  readonly next: string;
  /** Why the page could not be read (a refusal, the leader gone); rows are then empty. */
  readonly error?: string;
  /**
   * The first page took new tasks live and pushed rows off its end since it was read: there
   * are older tasks even if `next` was empty, and `next` no longer starts where it ends.
   */
  readonly overflowed?: boolean;
}

/**
 * A page after watch events: rows follow their tasks, a task that left the status filter
 * leaves, a deleted one goes, and the first page takes a task it does not show yet at its
 * place in creation order (newest first) when it belongs on it (a new task, or an older one
 * that now matches the filter).
 */
export function applyChanges(
  page: Page,
  batch: readonly [string, unknown][],
  firstPage: boolean,
  status: string,
): Page {
  let tasks = page.tasks;
  let overflowed = page.overflowed ?? false;
  for (const [event, data] of batch) {
    // Only task events: the stream's own (it opened) carry no task.
    if (event !== 'changed' && event !== 'deleted') continue;
    const task = data as Task;
    const at = tasks.findIndex((row) => row.id === task.id);
    if (event === 'deleted' || (status !== '' && shortStatus(task.status) !== status)) {
      if (at >= 0) tasks = tasks.filter((_, i) => i !== at);
    } else if (at >= 0) {
      tasks = tasks.map((row, i) => (i === at ? task : row));
    } else if (firstPage) {
      const full = tasks.length === PAGE_SIZE;
      tasks = insertNewestFirst(tasks, task);
      // Inserted into a full page: its last row went (or the task itself did not fit).
      if (full) overflowed = true;
    }
  }
  return tasks === page.tasks && overflowed === (page.overflowed ?? false)
    ? page
    : { ...page, tasks, overflowed };
}

/** `task` in its place among rows sorted newest first, if it falls within one page. */
function insertNewestFirst(rows: Task[], task: Task): Task[] {
  const created = task.createdAt ?? '';
  // ISO times of one clock sort as text; a tie goes above (it was saved later).
  const at = rows.findIndex((row) => (row.createdAt ?? '') <= created);
  if (at < 0) return rows.length < PAGE_SIZE ? [...rows, task] : rows;
  return [...rows.slice(0, at), task, ...rows.slice(at)].slice(0, PAGE_SIZE);
}
