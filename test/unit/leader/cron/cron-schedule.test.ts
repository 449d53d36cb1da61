import { describe, expect, it } from 'vitest';
import {
  checkCronExpression,
  checkTimeZone,
  firingDue,
  nextFiringAfter,
  type CronSchedule,
} from '../../../../src/leader/cron/cron-schedule.js';

const schedule = (expression: string, timeZone: string, lastRunAtMs?: number): CronSchedule => ({
  name: 's',
  expression,
  timeZone,
  task: { payload: 'p' },
  paused: false,
  createdAtMs: 0,
  activeSinceMs: 0,
  lastRunAtMs,
  lastTaskId: undefined,
});

const DAY_MS = 86_400_000;

/**
 * Walks a schedule's firings from `fromMs` as the leader does: each firing announced (the
 * listing's next run) must be the one made when its time comes, then the next is armed.
 */
function walk(expression: string, timeZone: string, fromMs: number, count: number): number[] {
  const made: number[] = [];
  let last: number | undefined;
  let at = fromMs;
  for (let i = 0; i < count; i++) {
    const next = nextFiringAfter(schedule(expression, timeZone, last), at);
    if (next === undefined) break;
    expect(firingDue(schedule(expression, timeZone, last), next)).toBe(next);
    made.push(next);
    last = at = next;
  }
  return made;
}

describe('cron firing times across daylight-saving changes', () => {
  it('goes on firing daily where the clock moves by 30 minutes (Lord Howe)', () => {
    // cron-parser 5.10 found no firing after 2027-04-02T16:00Z here ("loop limit
    // exceeded"): the schedule stopped for good.
    const made = walk('0 3 * * *', 'Australia/Lord_Howe', Date.UTC(2027, 2, 25), 12);
    expect(made).toHaveLength(12);
    expect(made.map((ms) => new Date(ms).toISOString()).slice(8, 11)).toEqual([
      '2027-04-02T16:00:00.000Z',
      '2027-04-03T16:30:00.000Z', // 03:00 at +10:30, once the clock went back
      '2027-04-04T16:30:00.000Z',
    ]);
  });

  it('makes a firing that falls in a spring-forward gap, once, at the first valid time', () => {
    // 02:30 does not exist in Berlin on 2027-03-28; cron-parser announced 03:30 CEST, then
    // its backward search said nothing was due then, and the day was skipped.
    const made = walk('30 2 * * *', 'Europe/Berlin', Date.UTC(2027, 2, 26), 3);
    expect(made.map((ms) => new Date(ms).toISOString())).toEqual([
      '2027-03-26T01:30:00.000Z',
      '2027-03-27T01:30:00.000Z',
      '2027-03-28T01:00:00.000Z', // 03:00 CEST, the first time after the gap
    ]);
  });

  it('fires once a day through a whole year of changes in zones with unusual ones', () => {
    for (const zone of [
      'Australia/Lord_Howe',
      'Pacific/Chatham',
      'Europe/Berlin',
      'America/New_York',
      'America/Santiago',
      'Africa/Cairo',
      'Antarctica/Troll',
    ]) {
      for (const expression of ['0 3 * * *', '30 2 * * *', '15 1 * * *']) {
        const made = walk(expression, zone, Date.UTC(2027, 0, 1), 365);
        expect({ zone, expression, firings: made.length }).toEqual({
          zone,
          expression,
          firings: 365,
        });
        // One a day: never two within 20 hours, never a day skipped.
        for (let i = 1; i < made.length; i++) {
          const gap = made[i]! - made[i - 1]!;
          expect(gap > 20 * 3_600_000 && gap < DAY_MS + 4 * 3_600_000).toBe(true);
        }
      }
    }
  });
});

describe('checkCronExpression', () => {
  it('reads ? as *, and names the field and its range when a value is out of it', () => {
    const at = Date.UTC(2026, 11, 3, 12);
    expect(nextFiringAfter(schedule('0 0 12 ? * MON', 'UTC'), at)).toBe(Date.UTC(2026, 11, 7, 12));
    for (const [expression, message] of [
      ['0 0 0 * *', 'day of month must be 1-31 (or L, W)'],
      ['0 0 * 13 *', 'month must be 1-12 or JAN-DEC'],
      ['61 * * * *', 'minute must be 0-59'],
      ['0 0 31 2 *', 'never fires'],
      ['0 0 * * *  *  *', 'has 7 fields'],
    ] as const) {
      expect(() => checkCronExpression(expression, 'UTC')).toThrow(message);
    }
  });
});

describe('checkTimeZone', () => {
  it('keeps a zone as the runtime spells it, and UTC for none', () => {
    expect(checkTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(checkTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(checkTimeZone('')).toBe('UTC');
    expect(checkTimeZone('utc')).toBe('UTC');
    expect(() => checkTimeZone('Nowhere/Land')).toThrow(/time zone "Nowhere\/Land" is not known/);
  });
});
