import { describe, expect, it } from 'vitest';
import { TaskWatchFilter } from '../../../src/scheduler/task-watch-filter.js';
import type { TaskRecord } from '../../../src/scheduler/task.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';

const task = (id: string, status: TaskRecord['status'], memberId?: string) =>
  ({ id: id as TaskId, status, memberId: memberId as MemberId | undefined }) as TaskRecord;

describe('TaskWatchFilter', () => {
  it('shows everything when open', () => {
    const filter = new TaskWatchFilter(undefined, undefined);
    expect(filter.admit(task('a', 'pending'))).toBe(true);
    expect(filter.admitDeleted('a' as TaskId)).toBe(true);
  });

  it('shows a task while it matches, once more as it leaves, then no more', () => {
    const filter = new TaskWatchFilter('running', undefined);
    expect(filter.admit(task('a', 'pending'))).toBe(false);
    expect(filter.admit(task('a', 'running', 'w'))).toBe(true);
    expect(filter.admit(task('a', 'completed', 'w'))).toBe(true); // it left: say so
    expect(filter.admit(task('a', 'completed', 'w'))).toBe(false);
    expect(filter.admitDeleted('a' as TaskId)).toBe(false);
  });

  it('filters by member and status together, and reports deletion of a shown task', () => {
    const filter = new TaskWatchFilter('running', 'w1' as MemberId);
    expect(filter.admit(task('a', 'running', 'w2'))).toBe(false);
    expect(filter.admit(task('b', 'running', 'w1'))).toBe(true);
    expect(filter.admitDeleted('b' as TaskId)).toBe(true);
    expect(filter.admitDeleted('a' as TaskId)).toBe(false);
  });

  it('filters by kind and by one task id (the dashboard follows one task)', () => {
    const kinded = (id: string, kind: string) => ({ ...task(id, 'pending'), kind }) as TaskRecord;
    const byKind = new TaskWatchFilter(undefined, undefined, 'resize');
    expect(byKind.open).toBe(false);
    expect(byKind.admit(kinded('a', 'resize'))).toBe(true);
    expect(byKind.admit(kinded('b', 'email'))).toBe(false);
    const one = new TaskWatchFilter(undefined, undefined, undefined, 'a' as TaskId);
    expect(one.admit(kinded('a', 'x'))).toBe(true);
    expect(one.admit(kinded('b', 'x'))).toBe(false);
    expect(one.admitDeleted('a' as TaskId)).toBe(true);
  });
});
