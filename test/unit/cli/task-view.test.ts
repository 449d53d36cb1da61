import { describe, expect, it } from 'vitest';
import { formatTaskView } from '../../../src/cli/task-view.js';
import { truncate } from '../../../src/cli/output.js';
import { Task, TaskStatus } from '../../../src/gen/scheduler/v1/scheduler.js';

const at = (iso: string) => new Date(iso);

describe('formatTaskView (drover task ID)', () => {
  it('shows the attempt against its budget, the timeout and every attempt the leader saw', () => {
    const task = Task.fromPartial({
      id: 'resize-7',
      payload: '500',
      status: TaskStatus.TASK_STATUS_RUNNING,
      kind: 'default',
      attempt: 3,
      attemptBase: 1,
      maxAttempts: 3,
      timeoutMs: 30_000,
      retryBackoffMs: 0,
      memberId: 'w2',
      attempts: [
        {
          attempt: 1,
          memberId: 'w1',
          startedAt: at('2026-12-02T10:00:00.000Z'),
          endedAt: at('2026-12-02T10:00:04.000Z'),
          outcome: 'not started',
          error: 'worker w1 lost before it began attempt 1 (not counted)',
        },
        {
          attempt: 2,
          memberId: 'w2',
          startedAt: at('2026-12-02T10:00:05.000Z'),
          endedAt: at('2026-12-02T10:00:06.000Z'),
          outcome: 'retried',
          error: 'boom',
        },
        {
          attempt: 3,
          memberId: 'w2',
          startedAt: at('2026-12-02T10:00:07.000Z'),
          beganAt: at('2026-12-02T10:00:07.500Z'),
        },
      ],
    });
    const lines = formatTaskView(task).split('\n');
    expect(lines).toContain(
      'attempt          3 (2 of at most 3 counted; 1 before: an earlier run, or never begun)',
    );
    expect(lines).toContain('timeout          30000 ms');
    expect(lines).toContain('retry backoff    none: retries at once');
    const table = lines.slice(lines.indexOf('attempts:') + 1);
    expect(table[0]).toMatch(/^ATTEMPT\s+MEMBER\s+STARTED\s+BEGAN\s+ENDED\s+OUTCOME\s+ERROR/);
    expect(table[1]).toMatch(
      /^1\s+w1\s+2026-12-02T10:00:00.000Z\s+-\s+2026-12-02T10:00:04.000Z\s+not started\s+worker w1 lost before it began attempt 1 \(not counted\)$/,
    );
    expect(table[3]).toMatch(
      /^3\s+w2\s+2026-12-02T10:00:07.000Z\s+2026-12-02T10:00:07.500Z\s+-\s+running\s+-$/,
    );
  });

  it('says what a pending task with no reason given waits for, and a task not yet tried', () => {
    const lines = formatTaskView(
      Task.fromPartial({
        id: 'a',
        payload: 'x',
        status: TaskStatus.TASK_STATUS_PENDING,
        maxAttempts: 5,
      }),
    ).split('\n');
    expect(lines).toContain('waiting          for a free slot');
    expect(lines).toContain('attempt          none yet (at most 5)');
    expect(lines).not.toContain('attempts:');
    const delayed = Task.fromPartial({
      id: 'd',
      payload: 'x',
      status: TaskStatus.TASK_STATUS_SCHEDULED,
      runAt: new Date('2026-12-03T03:00:00.000Z'),
    });
    expect(formatTaskView(delayed).split('\n')).toContain(
      'waiting          for its run time, 2026-12-03T03:00:00.000Z',
    );
  });
});

describe('truncate', () => {
  it('keeps a closing note in brackets, which changes what the text means', () => {
    const error = 'worker w1 lost before it began attempt 1 (not counted)';
    expect(truncate(error, 40)).toBe('worker w1 lost before it… (not counted)');
    expect(truncate('a long text with no note at its end at all', 10)).toBe('a long te…');
    expect(truncate('short (kept)', 40)).toBe('short (kept)');
    expect(truncate(undefined, 10)).toBe('-');
  });
});
