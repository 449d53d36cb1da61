import { TaskPriority } from '../gen/scheduler/v1/scheduler.js';

/** Largest value of a uint32 field. */
const UINT32_MAX = 0xffff_ffff;

const STRING_FIELDS = ['id', 'kind', 'targetMemberId', 'idempotencyKey', 'concurrencyKey'];
const UINT32_FIELDS = ['maxAttempts', 'retryBackoffMs', 'timeoutMs'];
const UINT64_FIELDS = ['delayMs', 'idempotencyTtlMs'];

/**
 * Why a task given to the producer cannot be sent, or undefined if it can. Checked before
 * it joins a message: a value protobuf cannot encode (a negative or fractional count, a
 * string for a Date) would otherwise fail the whole message, and every task sent with it,
 * with a serialization error that reads like a broken link. The leader checks the rest
 * (lengths, kinds, keys) and refuses one task at a time.
 */
export function taskProblem(task: unknown): string | undefined {
  if (typeof task !== 'object' || task === null) return 'a task must be an object';
  const fields = task as Record<string, unknown>;
  if (typeof fields['payload'] !== 'string') {
    return `payload must be a string, got ${describe(fields['payload'])}`;
  }
  for (const name of STRING_FIELDS) {
    const value = fields[name];
    if (value !== undefined && typeof value !== 'string') {
      return `${name} must be a string, got ${describe(value)}`;
    }
  }
  for (const name of UINT32_FIELDS) {
    const problem = countProblem(name, fields[name], UINT32_MAX);
    if (problem) return problem;
  }
  for (const name of UINT64_FIELDS) {
    const problem = countProblem(name, fields[name], Number.MAX_SAFE_INTEGER);
    if (problem) return problem;
  }
  const priority = fields['priority'];
  if (priority !== undefined && !Object.values(TaskPriority).includes(priority as TaskPriority)) {
    return `priority must be a TaskPriority (TaskPriority.TASK_PRIORITY_HIGH, ...), got ${describe(priority)}`;
  }
  const runAt = fields['runAt'];
  if (runAt !== undefined && !(runAt instanceof Date && Number.isFinite(runAt.getTime()))) {
    return `runAt must be a valid Date, got ${describe(runAt)}`;
  }
  return undefined;
}

/** Why a count field is not a whole number from 0 to `most`, if it is not. */
function countProblem(name: string, value: unknown, most: number): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= most) {
    return undefined;
  }
  return `${name} must be a whole number from 0 to ${most}, got ${describe(value)}`;
}

/** A value as a message shows it: strings quoted, dates as ISO text or "an invalid Date". */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value instanceof Date) {
    return Number.isFinite(value.getTime()) ? value.toISOString() : 'an invalid Date';
  }
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
