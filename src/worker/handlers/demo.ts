import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskHandler } from '../runner.js';

/** Settings of the demo handler. */
export interface DemoHandlerOptions {
  /** Work time when the payload is not a number of milliseconds. */
  readonly defaultMs: number;
  /** Longest work time a payload may ask for. */
  readonly maxMs: number;
}

/**
 * Does visible, interruptible work for the local cluster and tests: the payload is a
 * number of milliseconds to work (else `defaultMs`). It logs progress about every quarter
 * and stops at once when its signal fires.
 */
export function demoHandler(options: DemoHandlerOptions): TaskHandler {
  return async ({ payload, signal, logger }) => {
    const asked = /^\s*\d+\s*$/.test(payload) ? Number(payload) : options.defaultMs;
    const totalMs = Math.min(asked, options.maxMs);
    const steps = totalMs >= 400 ? 4 : 1;
    for (let step = 1; step <= steps; step++) {
      await sleep(totalMs / steps, undefined, { signal });
      if (steps > 1) logger.info({ progress: `${(step * 100) / steps}%` }, 'demo task working');
    }
    return `worked ${totalMs} ms`;
  };
}
