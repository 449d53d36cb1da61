import { describe, expect, it } from 'vitest';
import type { ControlChange } from '../../../src/leader/cluster-events.js';
import { LimitControls } from '../../../src/leader/limit-controls.js';
import { InvalidArgumentError } from '../../../src/shared/errors.js';
import { leaderParts } from './leader-parts.js';

function setup() {
  const parts = leaderParts();
  const { scheduler, commits, assignment, events, log } = parts;
  const limits = new LimitControls({
    ...{ scheduler, commits, assignment, events, log },
    assertRunning: () => {},
  });
  const changes: ControlChange[] = [];
  events.onControl((change) => changes.push(change));
  return { ...parts, limits, changes };
}

describe('LimitControls', () => {
  it('holds a key to its limit, stores it, tells watchers, and a raise starts what waited', async () => {
    const { limits, commands, worker, timers, store, changes } = setup();
    const w = worker('a', { slots: 4 });
    await limits.set({ key: 'customer:42' }, { maxRunning: 1, rate: undefined });
    expect(await store.inner.loadControls()).toEqual([
      { key: 'limit/key/customer:42', value: '{"maxRunning":1}' },
    ]);
    expect(changes).toHaveLength(1);
    await commands.schedule(
      ['x1', 'x2', 'x3'].map((id) => ({ id, payload: 'p', concurrencyKey: 'customer:42' })),
    );
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual(['x1']);
    const [view] = limits.list();
    expect(view).toMatchObject({
      target: { key: 'customer:42' },
      usage: { running: 1, queued: 2 },
    });
    await limits.set({ key: 'customer:42' }, { maxRunning: 3, rate: undefined });
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual(['x1', 'x2', 'x3']);
    expect(await limits.remove({ key: 'customer:42' })).toEqual({ changed: true });
    expect(await limits.remove({ key: 'customer:42' })).toEqual({ changed: false });
    expect(await store.inner.loadControls()).toEqual([]);
    expect(changes.map((c) => c.removed)).toEqual([false, false, true]);
  });

  it('starts a rate-limited key on time from the one due timer (no polling)', async () => {
    const { limits, commands, worker, timers, clock } = setup();
    const w = worker('a', { slots: 4 });
    await limits.set(
      { key: 'api' },
      { maxRunning: undefined, rate: { count: 4, intervalMs: 1000, burst: 1 } },
    );
    await commands.schedule(
      ['r1', 'r2'].map((id) => ({ id, payload: 'p', concurrencyKey: 'api' })),
    );
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual(['r1']);
    expect(timers.timerDelays).toContain(250);
    clock.advance(250);
    timers.fireTimers();
    await timers.settle();
    expect(w.channel.starts.map((s) => s.taskId)).toEqual(['r1', 'r2']);
  });

  it('restores stored limits and refuses ones that make no sense, changing nothing', async () => {
    const { limits, scheduler, store } = setup();
    const others = limits.restore([
      { key: 'limit/kind/mail', value: '{"maxRunning":2}' },
      { key: 'limit/key/k', value: 'not json' },
      { key: 'cron/x', value: '{}' },
    ]);
    expect(others).toEqual([{ key: 'cron/x', value: '{}' }]);
    expect(scheduler.keyLimits.get({ kind: 'mail' })).toEqual({ maxRunning: 2 });
    expect(scheduler.keyLimits.get({ key: 'k' })).toBeUndefined();
    const none = { maxRunning: undefined, rate: undefined };
    await expect(limits.set({ key: 'k' }, none)).rejects.toThrow(/needs max_running or a rate/);
    await expect(limits.set({ key: 'k' }, { ...none, maxRunning: 0 })).rejects.toThrow(
      /max_running must be a whole number from 1/,
    );
    await expect(
      limits.set({ key: 'k' }, { ...none, rate: { count: 2, intervalMs: 1000, burst: 3 } }),
    ).rejects.toThrow(/rate_burst \(at most rate_count\)/);
    await expect(limits.set({ key: 'a/b' }, { ...none, maxRunning: 1 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    expect(await store.inner.loadControls()).toEqual([]);
  });
});
