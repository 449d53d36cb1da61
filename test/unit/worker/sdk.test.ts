import { describe, expect, it } from 'vitest';
import { returnedOutcome } from '../../../src/worker/outcome.js';
import { createWorker, type TaskContext, type TaskHandler } from '../../../src/worker/sdk.js';

const handlers = { default: () => 'ok' };

describe('createWorker', () => {
  // Invalid options throw before anything starts: no logger, no channel, no timer.
  it.each([
    [{ handlers: {} }, 'createWorker needs at least one handler'],
    [{ handlers, leaders: [] }, 'leaders must name at least one leader address (host:port)'],
    [{ handlers, leaders: [' '] }, 'leaders must name at least one leader address (host:port)'],
    [{ handlers, slots: 0 }, 'slots must be a positive integer, got 0'],
    [{ handlers, slots: 1.5 }, 'slots must be a positive integer, got 1.5'],
    [
      { handlers, resultLimitBytes: 0 },
      `resultLimitBytes must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
    ],
    [{ handlers, stopGraceMs: -1 }, 'stopGraceMs must be an integer from 1 to 2147483647, got -1'],
    [
      { handlers, stopGraceMs: 2 ** 53 },
      `stopGraceMs must be an integer from 1 to 2147483647, got ${2 ** 53}`,
    ],
    // A stop() rejected, and the worker never left, with these (an SDK trial).
    [
      { handlers, drainTimeoutMs: 1.5 },
      'drainTimeoutMs must be an integer from 0 to 2147483647, got 1.5',
    ],
    [
      { handlers, drainTimeoutMs: Number.NaN },
      'drainTimeoutMs must be an integer from 0 to 2147483647, got NaN',
    ],
    [
      { handlers, outputLimitChars: -1 },
      `outputLimitChars must be an integer from 1 to ${Number.MAX_SAFE_INTEGER}, got -1`,
    ],
    [
      { handlers, reconnect: { maxDelayMs: 0 } },
      'reconnect.maxDelayMs must be an integer from 1 to 2147483647, got 0',
    ],
    [
      { handlers, reconnect: { initialDelayMs: 0 } },
      'reconnect.initialDelayMs must be an integer from 1 to 2147483647, got 0',
    ],
    [
      { handlers, reconnect: { initialDelayMs: 5000, maxDelayMs: 100 } },
      'reconnect.initialDelayMs (5000) must not be above reconnect.maxDelayMs (100)',
    ],
  ])('refuses %j', (options, message) => {
    expect(() => createWorker(options)).toThrow(new Error(message));
  });
});

describe('TaskHandler', () => {
  it('types a handler that returns an object or a number, and keeps what it returns as its JSON', async () => {
    // Compiled by `npm run typecheck`: a handler returning an object was a type error.
    const handlers: Record<string, TaskHandler> = {
      object: async ({ payload }) => ({ length: payload.length }),
      number: () => 42,
      nothing: () => {},
      text: async () => 'done',
    };
    const ctx = { id: 't', attempt: 1, resultLimitBytes: 1024 };
    const run = async (name: string) =>
      returnedOutcome(ctx, await handlers[name]!({ payload: 'abc' } as TaskContext)).result;
    expect(await run('object')).toBe('{"length":3}');
    expect(await run('number')).toBe('42');
    expect(await run('nothing')).toBeUndefined();
    expect(await run('text')).toBe('done');
  });
});
