import { Task, TaskStatus, taskPriorityToJSON } from '../gen/scheduler/v1/scheduler.js';
import { formatTable } from './output.js';
import { shortStatus } from './commands/tasks.js';

/**
 * `drover task ID` as text: the task's fields, one per line, then the attempts the leader
 * saw it make. Pure, so the wording is tested without a leader.
 */
export function formatTaskView(task: Task): string {
  const rows = taskRows(task);
  const width = Math.max(...rows.map(([key]) => key.length));
  const lines = rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`);
  if (task.attempts.length > 0) lines.push('', 'attempts:', formatAttempts(task));
  return lines.join('\n');
}

function taskRows(task: Task): [string, string][] {
  return [
    ['id', task.id],
    ['status', shortStatus(task.status)],
    ['waiting', waitingText(task)],
    ['priority', priorityText(task)],
    ['kind', task.kind],
    ['attempt', attemptText(task)],
    ['timeout', msText(task.timeoutMs, 'none')],
    ['retry backoff', backoffText(task.retryBackoffMs)],
    ['retry at', task.retryAt?.toISOString() ?? '-'],
    ['member', task.memberId || '-'],
    ['target', task.targetMemberId || '-'],
    ['created', task.createdAt?.toISOString() ?? '-'],
    ['run at', task.runAt?.toISOString() ?? '-'],
    ['idempotency key', idempotencyText(task)],
    ['concurrency key', task.concurrencyKey || '-'],
    ['started', task.startedAt?.toISOString() ?? '-'],
    ['finished', task.finishedAt?.toISOString() ?? '-'],
    ['payload', task.payload],
    ['result', task.result ?? '-'],
    ['error', task.error ?? '-'],
  ];
}

/**
 * The attempt and the budget it counts against: attempts that never began (or belong to
 * an earlier series, before a re-run) do not count, and the line says how many those are.
 */
function attemptText(task: Task): string {
  if (task.attempt === 0) return `none yet (at most ${task.maxAttempts})`;
  const counted = task.attempt - task.attemptBase;
  const uncounted =
    task.attemptBase > 0 ? `; ${task.attemptBase} before: an earlier run, or never begun` : '';
  return `${task.attempt} (${counted} of at most ${task.maxAttempts} counted${uncounted})`;
}

/** Why a task does not start; a pending one with no reason waits for a free slot. */
function waitingText(task: Task): string {
  if (task.waiting) return task.waiting;
  if (task.status === TaskStatus.TASK_STATUS_PENDING) return 'for a free slot';
  if (task.status === TaskStatus.TASK_STATUS_SCHEDULED && task.runAt !== undefined) {
    return `for its run time, ${task.runAt.toISOString()}`;
  }
  return '-';
}

function priorityText(task: Task): string {
  if (task.priority === undefined) return '-';
  return taskPriorityToJSON(task.priority).replace('TASK_PRIORITY_', '').toLowerCase();
}

function msText(ms: number | undefined, zero: string): string {
  if (ms === undefined) return '-';
  return ms === 0 ? zero : `${ms} ms`;
}

function backoffText(ms: number | undefined): string {
  if (ms === undefined || ms === 0) return msText(ms, 'none: retries at once');
  return `${ms} ms, doubling per retry up to the leader's cap`;
}

function idempotencyText(task: Task): string {
  if (task.idempotencyKey === '') return '-';
  const holds =
    task.idempotencyTtlMs === undefined
      ? 'until the task finishes'
      : `${task.idempotencyTtlMs} ms from creation`;
  return `${task.idempotencyKey} (holds ${holds})`;
}

function formatAttempts(task: Task): string {
  return formatTable(
    ['ATTEMPT', 'MEMBER', 'STARTED', 'BEGAN', 'ENDED', 'OUTCOME', 'ERROR'],
    task.attempts.map((a) => [
      String(a.attempt),
      a.memberId || '-',
      a.startedAt?.toISOString() ?? '-',
      a.beganAt?.toISOString() ?? '-',
      a.endedAt?.toISOString() ?? '-',
      a.outcome || 'running',
      a.error || '-',
    ]),
  );
}
