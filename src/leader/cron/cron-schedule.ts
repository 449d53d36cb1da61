import { Cron } from 'croner';

// Cron schedules' pure rules: names, zones and expressions checked, firing times found
// (by croner, in the schedule's zone), the firing a schedule owes, its task's id.
// Time comes in as epoch ms; a Date is only the value type croner takes and gives.
//
// croner, not cron-parser (used until 2026-12): cron-parser 5.10 threw "loop limit
// exceeded" for some zones after a daylight-saving change (Australia/Lord_Howe's
// `0 3 * * *` from 2027-04-02), which left a schedule with no next firing, for good; and
// its backward search (prev) missed the firing its forward one (next) announced in a
// spring-forward gap (Europe/Berlin's `30 2 * * *` on 2027-03-28). croner's forward and
// backward searches agreed on every firing of 7 expressions in all 418 zones over 2027.
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

/**
 * The zone a schedule names, checked: an IANA name Node knows, or UTC when empty. A name
 * given in other letter case is kept as the zone list spells it (`europe/berlin` as
 * `Europe/Berlin`), so one zone is listed one way. Not the runtime's resolved name: ICU
 * resolves Asia/Kolkata to the older Asia/Calcutta, which is not what the user wrote.
 */
export function checkTimeZone(timeZone: string): string {
  if (timeZone === '') return 'UTC';
  let resolved: string;
  try {
    // Throws RangeError for a zone the runtime does not know.
    resolved = new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    throw new InvalidArgumentError(
      `time zone ${echo(timeZone)} is not known: give an IANA name such as Europe/Berlin or UTC`,
    );
  }
  const lower = timeZone.toLowerCase();
  // The runtime's own name when it is this one in other letters (utc -> UTC).
  if (resolved.toLowerCase() === lower) return resolved;
  return zoneSpellings().get(lower) ?? timeZone;
}

let spellings: Map<string, string> | undefined;

/** The runtime's zone names by their lower-case form, made once. */
function zoneSpellings(): Map<string, string> {
  spellings ??= new Map(
    Intl.supportedValuesOf('timeZone').map((zone) => [zone.toLowerCase(), zone]),
  );
  return spellings;
}

/**
 * The expression in its zone, for the searches: five fields (minute first) or six (seconds
 * first); day-of-month and day-of-week ORed when both are set, as in Vixie cron. In a
 * daylight-saving gap a fixed-time firing (`30 2 * * *`) runs at the first valid time
 * after it, and once when a time occurs twice; an interval one (`*\/15 * * * *`) skips
 * the gap's times and runs at both of a repeated hour's.
 */
function cronOf(expression: string, timeZone: string): Cron {
  // `?` is `*` (Quartz's "no specific value"), as cron-parser read it; croner would put the
  // time of parsing there, which differs between leaders and restarts.
  return new Cron(expression.replaceAll('?', '*'), {
    timezone: timeZone,
    mode: '5-or-6-parts',
    domAndDow: false,
    paused: true,
  });
}

/**
 * Throws INVALID_ARGUMENT unless `expression` is a cron expression that fires at all:
 * five fields (minute first) or six (seconds first), as croner reads them.
 */
export function checkCronExpression(expression: string, timeZone: string): void {
  const trimmed = expression.trim();
  const fields = trimmed === '' ? 0 : trimmed.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new InvalidArgumentError(
      `cron expression ${echo(expression)} has ${fields} field${fields === 1 ? '' : 's'}: give 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
    );
  }
  let next: Date | null;
  try {
    next = cronOf(trimmed, timeZone).nextRun(new Date(0));
  } catch (err) {
    throw new InvalidArgumentError(
      `cron expression ${echo(expression)} is not valid: ${parseProblem((err as Error).message)}`,
    );
  }
  if (next === null) {
    throw new InvalidArgumentError(
      `cron expression ${echo(expression)} never fires (no date matches it, such as 31 February)`,
    );
  }
}

/** Each field's range, as a person writes it (croner names some by its own zero-based index). */
const FIELD_RANGES: Readonly<Record<string, string>> = {
  second: 'second must be 0-59',
  minute: 'minute must be 0-59',
  hour: 'hour must be 0-23',
  day: 'day of month must be 1-31 (or L, W)',
  month: 'month must be 1-12 or JAN-DEC',
  dayOfWeek: 'day of week must be 0-7 or SUN-SAT (0 and 7 are Sunday)',
};

/** croner's parse error, for a person: the field's range where croner names a bad value. */
function parseProblem(message: string): string {
  const field = /Invalid value for (\w+)/.exec(message)?.[1];
  const range = field === undefined ? undefined : FIELD_RANGES[field];
  return range ?? message.replace(/^CronPattern: /, '');
}

/** The first firing strictly after `afterMs`, or undefined if it never fires again. */
export function nextFiringAfter(schedule: CronSchedule, afterMs: number): number | undefined {
  try {
    return cronOf(schedule.expression, schedule.timeZone).nextRun(new Date(afterMs))?.getTime();
  } catch {
    return undefined; // checked when added; an expression a later version refuses fires no more
  }
}

/** The last firing at or before `atMs`, or undefined if there is none. */
export function lastFiringAtOrBefore(schedule: CronSchedule, atMs: number): number | undefined {
  try {
    // Runs before the reference, and one earlier in its own second: so one at `atMs` too.
    const [last] = cronOf(schedule.expression, schedule.timeZone).previousRuns(
      1,
      new Date(atMs + 1),
    );
    return last?.getTime();
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
  // Firings at or before this one are made, or were before the schedule was active.
  const floor = Math.max(schedule.activeSinceMs - 1, schedule.lastRunAtMs ?? -Infinity);
  // The latest firing by the backward search, and the next after the floor by the forward
  // one (what the listing announced): were the two ever to disagree at a daylight-saving
  // edge, the announced firing is still made.
  const due = [lastFiringAtOrBefore(schedule, nowMs), nextFiringAfter(schedule, floor)].filter(
    (at): at is number => at !== undefined && at > floor && at <= nowMs,
  );
  return due.length === 0 ? undefined : Math.max(...due);
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
