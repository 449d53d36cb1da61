import { describe, expect, it } from 'vitest';
import { createWorker } from '../../../src/worker/sdk.js';

const handlers = { default: () => 'ok' };

describe('createWorker', () => {
  // Invalid options throw before anything starts: no logger, no channel, no timer.
  it.each([
    [{ handlers: {} }, 'createWorker needs at least one handler'],
    [{ handlers, leaders: [] }, 'leaders must name at least one leader address (host:port)'],
    [{ handlers, leaders: [' '] }, 'leaders must name at least one leader address (host:port)'],
    [{ handlers, slots: 0 }, 'slots must be a positive integer, got 0'],
    [{ handlers, slots: 1.5 }, 'slots must be a positive integer, got 1.5'],
    [{ handlers, resultLimitBytes: 0 }, 'resultLimitBytes must be a positive integer, got 0'],
    [{ handlers, stopGraceMs: -1 }, 'stopGraceMs must be a positive integer, got -1'],
    [{ handlers, stopGraceMs: 2 ** 53 }, `stopGraceMs must be a positive integer, got ${2 ** 53}`],
  ])('refuses %j', (options, message) => {
    expect(() => createWorker(options)).toThrow(new Error(message));
  });
});
