import { describe, expect, it } from 'vitest';
import { seg } from '../../../src/dashboard/path-segment.js';
import { parseDelay } from '../../../src/dashboard/delay.js';
import { MAX_DELAY_MS } from '../../../src/scheduler/new-task.js';
import { noWorkReason } from '../../../src/dashboard/no-work-reason.js';
import { applyChanges, PAGE_SIZE, type Page } from '../../../src/dashboard/task-page.js';
import type { Task } from '../../../src/dashboard/types.js';

// The dashboard's pure parts (the browser test drives the rest in Chromium).

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const task = (id: string, s: number, status = 'TASK_STATUS_PENDING'): Task => ({
  id,
  createdAt: at(s),
  status,
});
const page = (...tasks: Task[]): Page => ({ tasks, next: '' });

describe('a task page under watch events', () => {
  it('puts a new task on top of the first page, and never on a later one', () => {
    const first = applyChanges(
      page(task('b', 2), task('a', 1)),
      [['changed', task('c', 3)]],
      true,
      '',
    );
    expect(first.tasks.map((t) => t.id)).toEqual(['c', 'b', 'a']);
    const opened = applyChanges(page(task('b', 2)), [['opened', null]], true, '');
    expect(opened.tasks.map((t) => t.id)).toEqual(['b']);
    const later = applyChanges(page(task('b', 2)), [['changed', task('c', 3)]], false, '');
    expect(later.tasks.map((t) => t.id)).toEqual(['b']);
  });

  it('puts an older task that now matches in its place, not on top; one past the page stays off', () => {
    const rows = page(task('c', 3), task('a', 1));
    expect(
      applyChanges(rows, [['changed', task('b', 2)]], true, '').tasks.map((t) => t.id),
    ).toEqual(['c', 'b', 'a']);
    const full = page(...Array.from({ length: PAGE_SIZE }, (_, i) => task(`t${i}`, 1000 - i)));
    // It belongs on a later page: the rows stay, and Older now has something to show.
    const past = applyChanges(full, [['changed', task('old', 1)]], true, '');
    expect(past.tasks).toBe(full.tasks);
    expect(past.overflowed).toBe(true);
  });

  it('a new task on a full first page pushes its last row off, and says the page overflowed', () => {
    const full = page(...Array.from({ length: PAGE_SIZE }, (_, i) => task(`t${i}`, 1000 - i)));
    const next = applyChanges(full, [['changed', task('new', 2000)]], true, '');
    expect(next.tasks.map((t) => t.id)).toEqual([
      'new',
      ...full.tasks.slice(0, PAGE_SIZE - 1).map((t) => t.id),
    ]);
    expect(next.overflowed).toBe(true);
    // Not full: no overflow.
    const small = applyChanges(page(task('a', 1)), [['changed', task('b', 2)]], true, '');
    expect(small.overflowed).toBe(false);
  });

  it('updates rows in place, drops deleted ones and ones that left the status filter', () => {
    const rows = page(task('b', 2), task('a', 1));
    const next = applyChanges(
      rows,
      [
        ['changed', task('a', 1, 'TASK_STATUS_RUNNING')],
        ['deleted', { id: 'b' }],
      ],
      true,
      '',
    );
    expect(next.tasks).toEqual([task('a', 1, 'TASK_STATUS_RUNNING')]);
    const filtered = applyChanges(
      rows,
      [['changed', task('a', 1, 'TASK_STATUS_COMPLETED')]],
      true,
      'pending',
    );
    expect(filtered.tasks.map((t) => t.id)).toEqual(['b']);
  });
});

describe('why a member gets no work', () => {
  const now = Date.UTC(2026, 0, 1);
  it('names the first reason an operator would look for', () => {
    const alive = { id: 'w', status: 'alive', slotsTotal: 2, slotsFree: 1, kinds: ['demo'] };
    expect(noWorkReason(alive, now)).toBe('');
    expect(
      noWorkReason({ ...alive, status: 'draining', statusReason: 'drained by an operator' }, now),
    ).toBe('draining: drained by an operator');
    expect(
      noWorkReason(
        {
          ...alive,
          quarantinedUntil: new Date(now + 5000).toISOString(),
          quarantineReason: '5 failures',
        },
        now,
      ),
    ).toBe('quarantined: 5 failures');
    expect(noWorkReason({ ...alive, quarantinedUntil: new Date(now - 1).toISOString() }, now)).toBe(
      '',
    );
    expect(noWorkReason({ ...alive, reportedStatus: 'HEARTBEAT_STATUS_FAILED' }, now)).toMatch(
      /^unhealthy/,
    );
    expect(noWorkReason({ ...alive, slotsFree: 0 }, now)).toBe('all slots busy');
    expect(noWorkReason({ ...alive, kinds: [] }, now)).toBe('no task kinds');
  });
});

describe('the schedule form delay', () => {
  it('reads a duration as the CLI does, and refuses anything else with how to write it', () => {
    expect(parseDelay('')).toBeUndefined();
    expect(parseDelay('250ms')).toBe(250);
    expect(parseDelay('30s')).toBe(30_000);
    expect(parseDelay(' 10m ')).toBe(600_000);
    expect(parseDelay('1h30m')).toBe(5_400_000);
    expect(parseDelay('2d')).toBe(172_800_000);
    // The leader's bound, said in the form's words (not as delay_ms in ms).
    expect(parseDelay('366d')).toBe(MAX_DELAY_MS);
    expect(() => parseDelay('367d')).toThrow(
      'delay "367d" is more than 366 days, the most allowed',
    );
    for (const bad of ['soon', '250', '5S', '1m1m']) {
      expect(() => parseDelay(bad)).toThrow(
        `delay "${bad}": write a duration such as 30s, 10m, 1h30m, 2d or 500ms (units d, h, m, s, ms, largest first, each once)`,
      );
    }
  });
});

describe('path segments', () => {
  it('escape every character a browser would read as path syntax', () => {
    expect(seg('a/b?c#d')).toBe('a%2Fb%3Fc%23d');
    // What the leader decodes is the id itself.
    for (const id of ['a/b', 'x?y', 'ü', 'a:cancel', 'v1.2']) {
      expect(decodeURIComponent(seg(id))).toBe(id);
    }
  });
});
