import { shortStatus, type Task } from '../types.js';

/** A task's status as a coloured badge, with why it waits when it does. */
export function StatusBadge({ task }: { task: Task }) {
  const status = shortStatus(task.status);
  return (
    <span class="status-cell">
      <span class={`badge badge-${status}`}>{status}</span>
      {task.waiting ? <span class="waiting">{task.waiting}</span> : null}
    </span>
  );
}
