import { describe, expect, it } from 'vitest';
import { settleWithinGrace, type Settled, type StopWatch } from '../../../src/worker/stop-grace.js';
import { defer } from '../../helpers/wait-for.js';
import { FakeTimers } from './fake-timers.js';

/** An AbortSignal as a StopWatch. */
function watchSignal(signal: AbortSignal): StopWatch {
  return {
    get stopped() {
      return signal.aborted;
    },
    whenStopped(listener) {
      signal.addEventListener('abort', listener, { once: true });
      return () => signal.removeEventListener('abort', listener);
    },
  };
}

/** Lets promise callbacks run (no time passes: the fake timers do not move). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function track<T>(promise: Promise<Settled<T>>): { value: Settled<T> | undefined } {
  const seen: { value: Settled<T> | undefined } = { value: undefined };
  void promise.then((value) => (seen.value = value));
  return seen;
}

describe('settleWithinGrace', () => {
  it('waits as long as it takes while no stop came, with no timer', async () => {
    const timers = new FakeTimers();
    const work = defer<string>();
    const seen = track(
      settleWithinGrace(work.promise, watchSignal(new AbortController().signal), 100, timers),
    );
    timers.advance(1_000_000);
    await flush();
    expect(seen.value).toBeUndefined();
    expect(timers.pending).toEqual([]);
    work.resolve('done');
    await flush();
    expect(seen.value).toEqual({ kind: 'returned', value: 'done' });
  });

  it('passes on a rejection', async () => {
    const timers = new FakeTimers();
    const work = defer<string>();
    const seen = track(
      settleWithinGrace(work.promise, watchSignal(new AbortController().signal), 100, timers),
    );
    work.reject(null);
    await flush();
    expect(seen.value).toEqual({ kind: 'threw', error: null });
  });

  it('gives up exactly at the grace after a stop, with a weak timer', async () => {
    const timers = new FakeTimers();
    const stop = new AbortController();
    const work = defer<string>();
    const seen = track(settleWithinGrace(work.promise, watchSignal(stop.signal), 100, timers));
    stop.abort();
    expect(timers.pending).toEqual([{ inMs: 100, weak: true }]);
    timers.advance(99);
    await flush();
    expect(seen.value).toBeUndefined();
    timers.advance(1);
    await flush();
    expect(seen.value).toEqual({ kind: 'unresponsive' });
    // A late end changes nothing, and a late rejection is not left unhandled.
    work.reject(new Error('late'));
    await flush();
    expect(seen.value).toEqual({ kind: 'unresponsive' });
  });

  it('takes an end within the grace and clears its timer', async () => {
    const timers = new FakeTimers();
    const stop = new AbortController();
    const work = defer<string>();
    const seen = track(settleWithinGrace(work.promise, watchSignal(stop.signal), 100, timers));
    stop.abort();
    timers.advance(50);
    work.reject(new Error('aborted'));
    await flush();
    expect(seen.value).toMatchObject({ kind: 'threw' });
    expect(timers.pending).toEqual([]);
  });

  it('starts the grace at once for a signal that was already aborted', async () => {
    const timers = new FakeTimers();
    const seen = track(
      settleWithinGrace(new Promise<never>(() => {}), watchSignal(AbortSignal.abort()), 10, timers),
    );
    timers.advance(10);
    await flush();
    expect(seen.value).toEqual({ kind: 'unresponsive' });
  });
});
