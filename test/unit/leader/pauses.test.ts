import { describe, expect, it } from 'vitest';
import { Pauses } from '../../../src/leader/pauses.js';
import { ClusterEvents } from '../../../src/leader/cluster-events.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';
import { leaderParts } from './leader-parts.js';

function setup() {
  const parts = leaderParts();
  const { scheduler, commits, assignment, clock, log } = parts;
  const events = new ClusterEvents();
  const assertRunning = () => {};
  const pauses = new Pauses({ scheduler, commits, assignment, events, clock, log, assertRunning });
  return { ...parts, pauses, events };
}

describe('Pauses', () => {
  it('pauses at once, answers once the control is saved, and a second pause changes nothing', async () => {
    const { pauses, store, clock, commands, worker, timers } = setup();
    const w = worker('a', { slots: 1 });
    store.hold();
    let answered = false;
    const pausing = pauses.pause({ kind: 'default' }).finally(() => (answered = true));
    // In effect before the save lands: a task scheduled now does not start.
    const scheduling = commands.schedule([{ id: 'held', payload: 'p' }]);
    // A second pause while the first is on its way changes nothing, and is not answered
    // "already paused" before the first pause has landed.
    let againAnswered = false;
    const again = pauses.pause({ kind: 'default' }).finally(() => (againAnswered = true));
    await timers.settle();
    expect([answered, againAnswered]).toEqual([false, false]);
    const writes = store.count();
    store.release();
    expect((await again).changed).toBe(false);
    expect(store.count()).toBe(writes); // the second pause wrote nothing
    expect(await pausing).toEqual({
      pause: { kind: 'default', sinceMs: clock.nowMs() },
      changed: true,
    });
    await scheduling;
    await timers.settle();
    expect(w.channel.starts).toEqual([]);
    expect(await store.inner.loadControls()).toEqual([
      { key: 'pause/kind/default', value: JSON.stringify({ sinceMs: clock.nowMs() }) },
    ]);
    clock.advance(5);
    expect((await pauses.pause({ kind: 'default' })).changed).toBe(false);
    expect(pauses.list()).toEqual([{ kind: 'default', sinceMs: clock.nowMs() - 5 }]);
  });

  it('resumed, deletes the control and starts what waited, in order', async () => {
    const { pauses, store, commands, worker, timers } = setup();
    const w = worker('a', { slots: 2 });
    await pauses.pause({ kind: 'default' });
    await commands.schedule([
      { id: 'one', payload: 'p' },
      { id: 'two', payload: 'p' },
    ]);
    await timers.settle();
    expect(w.channel.starts).toEqual([]);
    expect(await pauses.resume({ kind: 'default' })).toEqual({ changed: true });
    expect(await store.inner.loadControls()).toEqual([]);
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual(['one', 'two']);
    expect(await pauses.resume({ kind: 'default' })).toEqual({ changed: false });
  });

  it('restores stored pauses into the scheduler and hands back controls that are not its own', () => {
    const { pauses, scheduler } = setup();
    const others = pauses.restore([
      { key: 'limit/key/x', value: '{}' },
      { key: 'pause/kind/resize', value: '{"sinceMs":42}' },
    ]);
    expect(others).toEqual([{ key: 'limit/key/x', value: '{}' }]);
    expect(pauses.list()).toEqual([{ kind: 'resize', sinceMs: 42 }]);
    expect(scheduler.pauseKind('resize')).toBe(false); // already paused
  });

  it('refuses a kind that is not one', async () => {
    const { pauses, store } = setup();
    await expect(pauses.pause({ kind: 'no spaces' })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(pauses.resume({ kind: '' })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(store.count()).toBe(0);
  });
});
