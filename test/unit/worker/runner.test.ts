import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AttemptOutcome } from '../../../src/worker/outcome.js';
import { TaskRunner, type TaskHandler } from '../../../src/worker/runner.js';
import { FakeTimers } from './fake-timers.js';

/** Lets promise callbacks and p-queue run (the fake timers do not move). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function runner(handlers: Record<string, TaskHandler>, timers = new FakeTimers()) {
  const reports: AttemptOutcome[] = [];
  const tasks = new TaskRunner({
    slots: 1,
    handlers: new Map(Object.entries(handlers)),
    report: (outcome) => {
      reports.push(outcome);
      return Promise.resolve();
    },
    logger: pino({ level: 'silent' }),
    resultLimitBytes: 16,
    stopGraceMs: 100,
    timers,
  });
  return { tasks, reports, timers };
}

/**
 * A runner of one slot with a `busy` handler that holds the slot until `finishBusy()` and
 * a `work` handler that records what ran; it records reports and began notices.
 */
function oneBusySlot() {
  const reports: AttemptOutcome[] = [];
  const ran: string[] = [];
  const began: string[] = [];
  const busy = { finish: (): void => {} };
  const tasks = new TaskRunner({
    slots: 1,
    handlers: new Map<string, TaskHandler>([
      ['busy', () => new Promise<string>((resolve) => (busy.finish = () => resolve('done')))],
      ['work', ({ id }) => (ran.push(id), 'ok')],
    ]),
    report: (outcome) => (reports.push(outcome), Promise.resolve()),
    began: (key) => began.push(key),
    logger: pino({ level: 'silent' }),
  });
  return { tasks, reports, ran, began, finishBusy: () => busy.finish() };
}

const start = (tasks: TaskRunner, id: string, kind: string): void =>
  tasks.start({ id, attempt: 1, kind, payload: '' });

describe('TaskRunner', () => {
  it('gives handlers a context they may destructure: write, logger and signal work unbound', async () => {
    const output: string[] = [];
    const tasks = new TaskRunner({
      slots: 2,
      handlers: new Map<string, TaskHandler>([
        [
          'parts',
          ({ id, attempt, kind, payload, write, logger, signal }) => {
            write('out ');
            write('err', 'stderr');
            logger.info({ n: 1 }, 'hello');
            return [id, attempt, kind, payload, signal.aborted].join('/');
          },
        ],
        ['async', async ({ signal }) => `aborted=${signal.aborted}`],
      ]),
      report: (outcome) => {
        output.push(`report ${outcome.id} ${outcome.result ?? outcome.error}`);
        return Promise.resolve();
      },
      sink: (id, _attempt, stream, data) => output.push(`${id} ${stream} ${data.trim()}`),
      logger: pino({ level: 'info' }, { write: () => {} }),
    });
    tasks.start({ id: 't1', attempt: 3, kind: 'parts', payload: 'p' });
    tasks.start({ id: 't2', attempt: 1, kind: 'async', payload: '' });
    await flush();
    expect(output).toEqual([
      't1 stdout out',
      't1 stderr err',
      't1 log INFO hello {"n":1}',
      'report t1 t1/3/parts/p/false',
      'report t2 aborted=false',
    ]);
  });

  it('starts an attempt the same message stops already stopped: the handler does not run', async () => {
    let ran = false;
    const { tasks, reports } = runner({ quick: () => ((ran = true), 'done') });
    tasks.start({ id: 't', attempt: 1, kind: 'quick', payload: '' }, 'cancelled');
    tasks.stop('t', 1, 'cancelled');
    await flush();
    expect(ran).toBe(false);
    expect(reports).toEqual([{ id: 't', attempt: 1, error: 'stopped: cancelled' }]);
  });

  it('gives a context that spreads like a plain object, with no internals', async () => {
    let copy: Record<string, unknown> = {};
    const { tasks } = runner({
      spread: (ctx) => {
        copy = { ...ctx, payload: 'changed' };
      },
    });
    start(tasks, 's', 'spread');
    await flush();
    expect(Object.keys(copy).sort()).toEqual([
      'attempt',
      'id',
      'kind',
      'logger',
      'payload',
      'signal',
      'write',
    ]);
    expect(typeof copy['write']).toBe('function');
    expect(copy['signal']).toBeInstanceOf(AbortSignal);
    expect(copy['payload']).toBe('changed');
  });

  it('fails an attempt whose handler returns a thenable that throws', async () => {
    const { tasks, reports } = runner({
      odd: () =>
        ({
          then() {
            throw new Error('bad thenable');
          },
        }) as unknown as Promise<string>,
    });
    start(tasks, 'o', 'odd');
    await flush();
    expect(reports).toEqual([
      { id: 'o', attempt: 1, error: 'bad thenable', result: undefined, permanent: false },
    ]);
    expect(tasks.running).toEqual([]);
  });

  it('a handler that throws synchronously fails its attempt like one that rejects', async () => {
    const { tasks, reports } = runner({
      sync: () => {
        throw new Error('sync boom');
      },
      async: () => Promise.reject(new Error('async boom')),
    });
    start(tasks, 'a', 'sync');
    start(tasks, 'b', 'async');
    await flush();
    expect(reports.map((r) => [r.id, r.error])).toEqual([
      ['a', 'sync boom'],
      ['b', 'async boom'],
    ]);
  });

  it('frees the slot of a handler that ignores its stop once the grace is over', async () => {
    let ran = 0;
    const { tasks, reports, timers } = runner({
      stuck: () => new Promise(() => {}),
      quick: () => `ran ${++ran}`,
    });
    start(tasks, 'stuck', 'stuck');
    start(tasks, 'next', 'quick');
    await flush();
    expect(tasks.freeSlots).toBe(0);
    expect(reports).toEqual([]); // "next" waits for the slot

    tasks.stop('stuck', 1, 'cancelled');
    timers.advance(99);
    await flush();
    expect(reports).toEqual([]);
    timers.advance(1);
    await flush();
    expect(reports).toEqual([
      {
        id: 'stuck',
        attempt: 1,
        error:
          'stopped: cancelled; the handler did not stop within 100 ms (--stop-grace-ms, SDK option stopGraceMs), ' +
          'so the worker gave up on it and freed its slot',
      },
      { id: 'next', attempt: 1, result: 'ran 1' },
    ]);
    expect(tasks.freeSlots).toBe(1);
    expect(tasks.running).toEqual([]);
  });

  it('reports a stop, not a timeout, for a handler that honours its signal', async () => {
    const { tasks, reports, timers } = runner({
      polite: ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    });
    start(tasks, 'p', 'polite');
    await flush();
    tasks.stop('p', 1, 'timed out');
    await flush();
    expect(reports).toEqual([
      { id: 'p', attempt: 1, error: 'stopped: timed out', permanent: false },
    ]);
    expect(timers.pending).toEqual([]);
  });

  it('fence stops only the attempts with a concurrency key', async () => {
    const timers = new FakeTimers();
    const reports: AttemptOutcome[] = [];
    const polite: TaskHandler = ({ signal }) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const tasks = new TaskRunner({
      slots: 2,
      handlers: new Map([['polite', polite]]),
      report: (outcome) => (reports.push(outcome), Promise.resolve()),
      logger: pino({ level: 'silent' }),
      timers,
    });
    tasks.start({ id: 'keyed', attempt: 1, kind: 'polite', payload: '', concurrencyKey: 'k' });
    tasks.start({ id: 'plain', attempt: 1, kind: 'polite', payload: '', concurrencyKey: '' });
    await flush();
    expect(tasks.fence('lost the leader')).toBe(1);
    expect(tasks.fence('lost the leader')).toBe(0);
    await flush();
    expect(reports).toEqual([
      { id: 'keyed', attempt: 1, error: 'stopped: lost the leader', permanent: false },
    ]);
    expect(tasks.running).toEqual([{ id: 'plain', attempt: 1 }]);
  });

  it('says when each attempt begins, and lists those begun and not ended', async () => {
    const { tasks, began, finishBusy } = oneBusySlot();
    tasks.start({ id: 'first', attempt: 1, kind: 'busy', payload: '' });
    tasks.start({ id: 'held', attempt: 3, kind: 'busy', payload: '' });
    await flush();
    // One slot: the second is held, not begun.
    expect(began).toEqual(['first#1']);
    expect(tasks.begun).toEqual([{ id: 'first', attempt: 1 }]);
    expect(tasks.running).toHaveLength(2);
    finishBusy();
    await flush();
    expect(began).toEqual(['first#1', 'held#3']);
    expect(tasks.begun).toEqual([{ id: 'held', attempt: 3 }]);
  });

  it('hands back an attempt told to stop before it began, rather than failing it', async () => {
    const { tasks, reports, ran, finishBusy } = oneBusySlot();
    tasks.start({ id: 'slot', attempt: 1, kind: 'busy', payload: '' });
    tasks.start({ id: 'held', attempt: 2, kind: 'work', payload: '' });
    await flush();
    tasks.stop('held', 2, 'task held is pending and no longer runs on w');
    finishBusy();
    await flush();
    expect(ran).toEqual([]);
    expect(reports.map((r) => [r.id, r.notStarted === true, r.error ?? r.result])).toEqual([
      [
        'held',
        true,
        'not started: stopped before it began: task held is pending and no longer runs on w',
      ],
      ['slot', false, 'done'],
    ]);
  });

  it('a keyed attempt waiting for a slot is checked again as it starts: past the fence it starts stopped', async () => {
    const { tasks, reports, ran, finishBusy } = oneBusySlot();
    const fence: { reason?: string } = {};
    tasks.gateKeyed(() => fence.reason);
    tasks.start({ id: 'slot', attempt: 1, kind: 'busy', payload: '' });
    // Handed ahead: both wait for the one slot, accepted while the fence still allowed them.
    tasks.start({ id: 'keyed', attempt: 1, kind: 'work', payload: '', concurrencyKey: 'k' });
    tasks.start({ id: 'plain', attempt: 1, kind: 'work', payload: '', concurrencyKey: '' });
    await flush();
    // The deadline passes (say, while the process was frozen) before the slot frees.
    fence.reason = 'fenced: not heard';
    finishBusy();
    await flush();
    expect(ran).toEqual(['plain']);
    expect(reports.map((r) => [r.id, r.error ?? r.result])).toEqual([
      ['slot', 'done'],
      ['keyed', 'stopped: fenced: not heard'],
      ['plain', 'ok'],
    ]);
  });

  it('fails only the task for a thrown value that breaks String()', async () => {
    const { tasks, reports } = runner({
      sync: () => {
        throw Object.create(null);
      },
      async: () => Promise.reject(Object.create(null)),
    });
    start(tasks, 's', 'sync');
    start(tasks, 'a', 'async');
    await flush();
    expect(reports.map((r) => [r.id, r.error])).toEqual([
      ['s', 'the handler threw an object without prototype: {}'],
      ['a', 'the handler threw an object without prototype: {}'],
    ]);
  });

  it('bounds a result to the limit and fails it for good', async () => {
    const { tasks, reports } = runner({ big: () => 'z'.repeat(1000) });
    start(tasks, 'b', 'big');
    await flush();
    expect(reports[0]).toMatchObject({
      result: 'z'.repeat(16) + '\n[result truncated on the worker at 16 of 1000 bytes]',
      permanent: true,
    });
  });

  it('writes log lines of values String() cannot print instead of failing the task', async () => {
    const { tasks, reports } = runner({
      logs: ({ logger }) => {
        logger.info('value', Object.create(null));
        return 'logged';
      },
    });
    start(tasks, 'l', 'logs');
    await flush();
    expect(reports).toEqual([{ id: 'l', attempt: 1, result: 'logged' }]);
  });
});

/**
 * A runner of one slot with a `slow` handler (it ends when `finishFirst` is called) and a
 * `fast` one; `ran` lists the tasks whose handler ran, in order.
 */
function slowAndFast() {
  const ran: string[] = [];
  let finish: (() => void) | undefined;
  const made = runner({
    slow: ({ id }) => {
      ran.push(id);
      return new Promise<void>((resolve) => (finish = resolve));
    },
    fast: ({ id }) => void ran.push(id),
  });
  return { ...made, ran, finishFirst: () => finish?.() };
}

describe('TaskRunner.handBackUnstarted', () => {
  it('reports held attempts as not started and never runs them; the running one runs on', async () => {
    const { tasks, reports, ran, finishFirst } = slowAndFast();
    start(tasks, 'running', 'slow');
    start(tasks, 'held1', 'fast');
    tasks.start({ id: 'timed', attempt: 2, kind: 'fast', payload: '', startInMs: 500 });
    start(tasks, 'held2', 'fast');
    await flush();
    expect(ran).toEqual(['running']);
    expect(tasks.handBackUnstarted('its worker is draining')).toBe(3);
    expect(reports).toEqual([
      { id: 'held1', attempt: 1, error: 'not started: its worker is draining', notStarted: true },
      { id: 'timed', attempt: 2, error: 'not started: its worker is draining', notStarted: true },
      { id: 'held2', attempt: 1, error: 'not started: its worker is draining', notStarted: true },
    ]);
    expect(tasks.running).toEqual([{ id: 'running', attempt: 1 }]);
    // Nothing is handed back twice, and the slot that frees runs nothing handed back.
    expect(tasks.handBackUnstarted('again')).toBe(0);
    finishFirst();
    await tasks.idle(AbortSignal.timeout(1_000));
    expect(ran).toEqual(['running']);
    expect(reports.map((r) => r.id)).toEqual(['held1', 'timed', 'held2', 'running']);
  });
});

describe('TaskRunner.recall', () => {
  it('hands back a held attempt the leader recalls, and leaves one that runs', async () => {
    const { tasks, reports, ran, finishFirst } = slowAndFast();
    start(tasks, 'running', 'slow');
    start(tasks, 'held', 'fast');
    await flush();
    expect(tasks.recall('running', 1, 'b has a free slot')).toBe(false);
    expect(tasks.recall('held', 2, 'b has a free slot')).toBe(false); // not this attempt
    expect(tasks.recall('held', 1, 'b has a free slot')).toBe(true);
    expect(tasks.recall('held', 1, 'b has a free slot')).toBe(false);
    expect(reports).toEqual([
      { id: 'held', attempt: 1, error: 'not started: b has a free slot', notStarted: true },
    ]);
    finishFirst();
    await tasks.idle(AbortSignal.timeout(1_000));
    expect(ran).toEqual(['running']);
  });
});

describe('TaskRunner: priority of held attempts', () => {
  it('starts the higher priority first among those waiting for a slot, FIFO within one', async () => {
    const { tasks, ran, finishFirst } = slowAndFast();
    start(tasks, 'running', 'slow');
    const held = (id: string, priority?: number) =>
      tasks.start({ id, attempt: 1, kind: 'fast', payload: '', priority });
    held('medium1', 2);
    held('low', 1);
    held('old-leader'); // no priority: medium
    held('high1', 3);
    held('medium2', 2);
    held('high2', 3);
    await flush();
    finishFirst();
    await tasks.idle(AbortSignal.timeout(1_000));
    expect(ran).toEqual(['running', 'high1', 'high2', 'medium1', 'old-leader', 'medium2', 'low']);
  });
});
