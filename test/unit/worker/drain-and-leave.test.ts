import { describe, expect, it } from 'vitest';
import { drainAndLeave, type StoppingWorker } from '../../../src/worker/drain-and-leave.js';
import { captureLogger } from './capture-logger.js';

/** A worker whose parts record what stopping did to them, in order. */
function stoppingWorker(options: { idle?: () => Promise<void>; done?: Promise<void> } = {}) {
  const calls: string[] = [];
  const { logger, lines } = captureLogger();
  const session = new AbortController();
  session.signal.addEventListener('abort', () => calls.push('abort'));
  const worker: StoppingWorker = {
    link: {
      drain: () => void calls.push('drain'),
      leave: () => {
        calls.push('leave');
        return Promise.resolve();
      },
    },
    runner: {
      idle: () => {
        calls.push('idle');
        return options.idle?.() ?? Promise.resolve();
      },
      abandonAll: (reason) => void calls.push(`abandonAll: ${reason}`),
      handBackUnstarted: (reason) => {
        calls.push(`handBackUnstarted: ${reason}`);
        return 3;
      },
    },
    session,
    done: options.done ?? Promise.resolve(),
    log: logger,
  };
  return { worker, calls, lines, session };
}

describe('drainAndLeave', () => {
  it('drains, hands back what it holds, waits for running tasks, then leaves', async () => {
    const { worker, calls, lines, session } = stoppingWorker();
    await drainAndLeave(worker, 1_000);
    expect(calls).toEqual([
      'drain',
      'handBackUnstarted: its worker is draining',
      'idle',
      'leave',
      'abort',
    ]);
    expect(lines[0]).toMatchObject({ msg: 'worker draining', handedBack: 3 });
    expect((session.signal.reason as Error).message).toBe('worker stopped');
    expect(lines.map((l) => l.msg)).toEqual(['worker draining', 'worker stopped']);
  });

  it('when the drain times out, stops what runs and waits for it to end before leaving', async () => {
    let idles = 0;
    const { worker, calls, lines } = stoppingWorker({
      idle: () =>
        ++idles === 1
          ? Promise.reject(new DOMException('timed out', 'TimeoutError'))
          : Promise.resolve(),
    });
    await drainAndLeave(worker, 1_000, 2_000);
    // Leaving first would let the leader start these elsewhere while they still run here.
    expect(calls.slice(2)).toEqual([
      'idle',
      'abandonAll: worker shutting down',
      'idle',
      'leave',
      'abort',
    ]);
    expect(lines.map((l) => l.msg)).toEqual([
      'worker draining',
      'drain timed out; stopping tasks',
      'worker stopped',
    ]);
  });

  it('leaves anyway when a stopped task does not end within the stop grace', async () => {
    const { worker, calls, lines } = stoppingWorker({
      idle: () => Promise.reject(new DOMException('timed out', 'TimeoutError')),
    });
    await drainAndLeave(worker, 1_000, 2_000);
    expect(calls.slice(-2)).toEqual(['leave', 'abort']);
    expect(lines.map((l) => l.msg)).toEqual([
      'worker draining',
      'drain timed out; stopping tasks',
      'a task did not end within the stop grace; leaving anyway',
      'worker stopped',
    ]);
  });

  it('resolves even when the link had given up', async () => {
    const done = Promise.reject(new Error('no leader'));
    done.catch(() => {});
    const { worker, lines } = stoppingWorker({ done });
    await expect(drainAndLeave(worker, 1_000)).resolves.toBeUndefined();
    expect(lines.at(-1)?.msg).toBe('worker stopped');
  });
});
