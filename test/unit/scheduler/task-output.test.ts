import { describe, expect, it } from 'vitest';
import { TaskOutputLog } from '../../../src/scheduler/task-output.js';
import type { TaskId } from '../../../src/shared/ids.js';

const t = (id: string) => id as TaskId;
const text = (log: TaskOutputLog, id: string, offset = 0) =>
  log
    .read(t(id), offset)
    .map((c) => c.data)
    .join('');

describe('TaskOutputLog', () => {
  it('appends in order with offsets, and reads from any offset', () => {
    const log = new TaskOutputLog({ perTaskChars: 100, totalChars: 1000 });
    log.append(t('a'), 1, 'stdout', 'hello ');
    const [chunk] = log.append(t('a'), 1, 'stderr', 'world');
    expect(chunk).toMatchObject({ offset: 6, stream: 'stderr', attempt: 1, truncated: false });
    expect(text(log, 'a')).toBe('hello world');
    expect(text(log, 'a', 3)).toBe('lo world');
    expect(text(log, 'a', 11)).toBe('');
    expect(text(log, 'none')).toBe('');
    expect(log.size).toBe(11);
  });

  it('cuts a task at its limit with one marker, then drops the rest', () => {
    const log = new TaskOutputLog({ perTaskChars: 8, totalChars: 1000 });
    const stored = log.append(t('a'), 1, 'stdout', '0123456789');
    expect(stored.map((c) => [c.data, c.truncated])).toEqual([
      ['01234567', false],
      ['\n[output truncated: over 8 characters]\n', true],
    ]);
    expect(log.append(t('a'), 2, 'stdout', 'more')).toEqual([]);
  });

  it('evicts finished tasks’ output, oldest first, to stay within the total', () => {
    const log = new TaskOutputLog({ perTaskChars: 10, totalChars: 20 });
    log.append(t('old'), 1, 'stdout', 'x'.repeat(10));
    log.append(t('new'), 1, 'stdout', 'y'.repeat(10));
    log.markFinished(t('old'));
    log.append(t('run'), 1, 'stdout', 'z'.repeat(10));
    expect(text(log, 'old')).toBe('');
    expect(text(log, 'new')).toBe('y'.repeat(10));
    expect(text(log, 'run')).toBe('z'.repeat(10));
    expect(log.size).toBe(20);
    // Nothing finished to evict: a running task is cut instead of growing the total.
    const cut = log.append(t('run2'), 1, 'stdout', 'w'.repeat(5));
    expect(cut.at(-1)!.data).toMatch(/holds as much output as it may/);
  });

  it('forgets a deleted task’s output', () => {
    const log = new TaskOutputLog({ perTaskChars: 10, totalChars: 20 });
    log.append(t('a'), 1, 'stdout', 'abc');
    log.forget(t('a'));
    expect(text(log, 'a')).toBe('');
    expect(log.size).toBe(0);
  });

  it('counts the characters of the latest attempt the worker sent, markers not counted', () => {
    const log = new TaskOutputLog({ perTaskChars: 100, totalChars: 1000 });
    expect(log.attemptChars(t('a'), 1)).toBe(0);
    log.append(t('a'), 1, 'stdout', 'hello ');
    log.append(t('a'), 1, 'stderr', 'world');
    expect(log.attemptChars(t('a'), 1)).toBe(11);
    log.append(t('a'), 2, 'stdout', 'again');
    expect(log.attemptChars(t('a'), 2)).toBe(5);
    expect(log.attemptChars(t('a'), 1)).toBe(0);
    // Restored after a restart: the same count.
    const restored = new TaskOutputLog({ perTaskChars: 100, totalChars: 1000 });
    for (const chunk of log.read(t('a'), 0)) restored.restore(t('a'), chunk, false);
    expect(restored.attemptChars(t('a'), 2)).toBe(5);
    const cut = new TaskOutputLog({ perTaskChars: 4, totalChars: 1000 });
    cut.append(t('a'), 1, 'stdout', 'abcdef');
    expect(cut.attemptChars(t('a'), 1)).toBe(4);
  });

  it("keeps a re-run task's output once reopened: it is no longer evicted as finished", () => {
    const log = new TaskOutputLog({ perTaskChars: 10, totalChars: 20 });
    log.append(t('rerun'), 1, 'stdout', 'x'.repeat(10));
    log.markFinished(t('rerun'));
    log.reopen(t('rerun'));
    log.append(t('other'), 1, 'stdout', 'y'.repeat(10));
    log.append(t('third'), 1, 'stdout', 'z'.repeat(5)); // no room, and nothing to evict
    expect(text(log, 'rerun')).toBe('x'.repeat(10));
  });
});
