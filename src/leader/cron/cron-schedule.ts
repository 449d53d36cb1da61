import { CronExpressionParser } from 'cron-parser';

// Cron schedules' pure rules: names, zones and expressions checked, firing times found
// (by cron-parser, in the schedule's zone), the firing a schedule owes, its task's id.
// Time comes in as epoch ms; a Date is only the value type cron-parser takes and gives.
import { InvalidArgumentError } from '../../shared/errors.js';
import { echo } from '../../shared/text.js';
import type { NewTask } from '../../scheduler/new-task.js';
import { checkKind } from '../../scheduler/task.js';

/** What each firing of a schedule schedules: a task without its id, times or idempotency. */
export type TaskTemplate = Pick<
  NewTask,
  | 'payload'
  | 'priority'
  | 'kind'
  | 'targetMemberId'
  | 'maxAttempts'
  | 'retryBackoffMs'
  | 'timeoutMs'
  | 'concurrencyKey'
>;

/** A named cron schedule as kept (issue #18). */
export interface CronSchedule {
  readonly name: string;
  readonly expression: string;
  /** IANA zone the expression is read in. */
  readonly timeZone: string;
  readonly task: TaskTemplate;
  readonly paused: boolean;
  readonly createdAtMs: number;
  /**
   * Firings before this time are never made up: when it was added, or last resumed
   * (firings while paused are skipped).
   */
  readonly activeSinceMs: number;
  /** The last firing that scheduled a task, and that task. */
  readonly lastRunAtMs: number | undefined;
  readonly lastTaskId: string | undefined;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

/** Throws INVALID_ARGUMENT unless `name` is a schedule name (as a kind: 1-64 of [A-Za-z0-9._:-]). */
export function checkCronName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      `cron schedule name ${echo(name)} is not valid: use 1-64 letters, digits, '.', '_', ':' or '-'`,
    );
  }
}

/** The zone a schedule names, checked: an IANA name Node knows, or UTC when empty. */
export function checkTimeZone(timeZone: string): string {
  if (timeZone === '') return 'UTC';
  try {
    // Throws RangeError for a zone the runtime does not know.
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new InvalidArgumentError(
      `time zone ${echo(timeZone)} is not known: give an IANA name such as Europe/Berlin or UTC`,
    );
  }
  return timeZone;
}

/**
 * Throws INVALID_ARGUMENT unless `expression` is a cron expression that fires at all:
 * five fields (minute first) or six (seconds first), as cron-parser reads them.
 */
export function checkCronExpression(expression: string, timeZone: string): void {
  const trimmed = expression.trim();
  const fields = trimmed === '' ? 0 : trimmed.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new InvalidArgumentError(
      `cron expression ${echo(expression)} has ${fields} field${fields === 1 ? '' : 's'}: give 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  try {
    CronExpressionParser.parse(expression, { tz: timeZone, currentDate: new Date(0) }).next();
  } catch (err) {
    throw new InvalidArgumentError(
      `cron expression ${echo(expression)} is not valid: ${(err as Error).message}`,
    );
  }
}

/** The first firing strictly after `afterMs`, or undefined if it never fires again. */
export function nextFiringAfter(schedule: CronSchedule, afterMs: number): number | undefined {
  try {
    const cron = CronExpressionParser.parse(schedule.expression, {
      tz: schedule.timeZone,
      currentDate: new Date(afterMs),
    });
    return cron.next().getTime();
  } catch {
    return undefined; // no firing left (an expression bounded by an end date, say)
  }
}

/** The last firing at or before `atMs`, or undefined if there is none. */
export function lastFiringAtOrBefore(schedule: CronSchedule, atMs: number): number | undefined {
  try {
    const cron = CronExpressionParser.parse(schedule.expression, {
      tz: schedule.timeZone,
      currentDate: new Date(atMs + 1),
    });
    return cron.prev().getTime();
  } catch {
    return undefined;
  }
}

/**
 * The firing a schedule owes at `nowMs`, if any: the latest firing at or before now that
 * came after it was added or resumed and after the last firing it made. Older firings
 * missed while no leader ran are not made up (at most one catch-up, the latest): a
 * nightly job missed three nights runs once, not three times in a row.
 */
export function firingDue(schedule: CronSchedule, nowMs: number): number | undefined {
  if (schedule.paused) return undefined;
  const latest = lastFiringAtOrBefore(schedule, nowMs);
  if (latest === undefined || latest < schedule.activeSinceMs) return undefined;
  if (schedule.lastRunAtMs !== undefined && latest <= schedule.lastRunAtMs) return undefined;
  return latest;
}

/**
 * The id of the task a firing schedules: the name and the firing time, so the same firing
 * made twice (a restart, a failover, two leaders' clocks) is one task (ALREADY_EXISTS).
 */
export function firingTaskId(name: string, firingAtMs: number): string {
  return `${name}@${new Date(firingAtMs).toISOString()}`;
}

/** Checks a template (kind here; the rest as any new task, when it fires). */
export function checkTemplateKind(task: TaskTemplate): void {
  if (task.kind !== undefined && task.kind !== '') checkKind(task.kind, 'task kind');
}
