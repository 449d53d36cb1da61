import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { CronSchedules } from '../../../../src/leader/cron/cron-schedules.js';
import { leaderParts } from '../leader-parts.js';

const T0 = Date.parse('2026-12-01T01:59:00.000Z');

function setup(startMs = T0) {
  const parts = leaderParts();
  parts.clock.advance(startMs - parts.clock.nowMs());
  const { scheduler, commits, events, timers, clock, log, commands } = parts;
  const make = (logger: Logger = log) =>
    new CronSchedules({
      ...{ scheduler, commits, events, timers, clock, commands },
      log: logger,
      assertRunning: () => {},
    });
  return { ...parts, crons: make(), make };
}

const nightly = { name: 'nightly', expression: '0 3 * * *', timeZone: 'Europe/Berlin' };

describe('CronSchedules', () => {
  it('fires at the firing time, in its zone, with the id made of the name and the time', async () => {
    const { crons, clock, timers, scheduler } = setup();
    const view = await crons.add({ ...nightly, task: { payload: 'p', kind: 'default' } }, false);
    // 03:00 in Berlin in December is 02:00 UTC: one minute after T0.
    expect(view.nextRunAtMs).toBe(Date.parse('2026-12-01T02:00:00.000Z'));
    expect(timers.timerDelays).toEqual([60_000]);
    clock.advance(60_000);
    timers.fireTimers();
    await timers.settle();
    const task = scheduler.get('nightly@2026-12-01T02:00:00.000Z' as never);
    expect(task.payload).toBe('p');
    expect(crons.list()[0]).toMatchObject({
      lastRunAtMs: Date.parse('2026-12-01T02:00:00.000Z'),
      lastTaskId: 'nightly@2026-12-01T02:00:00.000Z',
      nextRunAtMs: Date.parse('2026-12-02T02:00:00.000Z'),
    });
    expect(timers.timerDelays).toEqual([24 * 3600_000]);
  });

  it('after a restart, makes the latest missed firing once and never one twice', async () => {
    const { crons, clock, timers, store, scheduler, make } = setup();
    await crons.add({ ...nightly, task: { payload: 'p' } }, false);
    // No leader for three days: three firings missed.
    clock.advance(3 * 24 * 3600_000);
    crons.stop();
    const second = make();
    second.restore(await store.inner.loadControls());
    second.run(clock.nowMs());
    await timers.settle();
    const made = scheduler.list({ pageSize: 100 }).tasks.map((t) => t.id);
    expect(made).toEqual(['nightly@2026-12-03T02:00:00.000Z']);
    // A third leader that starts over the same store makes nothing more.
    second.stop();
    const third = make();
    third.restore(await store.inner.loadControls());
    third.run(clock.nowMs());
    await timers.settle();
    expect(scheduler.list({ pageSize: 100 }).tasks).toHaveLength(1);
  });

  it('a firing whose task id is taken is recorded, not made again, and says so', async () => {
    const { clock, timers, commands, scheduler, make } = setup();
    const warned: unknown[] = [];
    const crons = make({
      info: () => {},
      error: () => {},
      warn: (...args: unknown[]) => warned.push(args),
    } as unknown as Logger);
    await commands.schedule([{ id: 'nightly@2026-12-01T02:00:00.000Z', payload: 'first' }]);
    await crons.add({ ...nightly, task: { payload: 'p' } }, false);
    clock.advance(60_000);
    timers.fireTimers();
    await timers.settle();
    expect(scheduler.list({ pageSize: 100 }).tasks.map((t) => t.payload)).toEqual(['first']);
    expect(crons.list()[0]?.lastRunAtMs).toBe(Date.parse('2026-12-01T02:00:00.000Z'));
    expect(warned).toEqual([
      [
        { schedule: 'nightly', taskId: 'nightly@2026-12-01T02:00:00.000Z' },
        'cron firing not made: a task with its id exists already',
      ],
    ]);
  });

  it('skips firings while paused, and refuses bad schedules with a clear message', async () => {
    const { crons, clock, timers, scheduler } = setup();
    await crons.add({ ...nightly, task: { payload: 'p' } }, false);
    expect((await crons.setPaused('nightly', true)).changed).toBe(true);
    expect(crons.list()[0]?.nextRunAtMs).toBeUndefined();
    expect(timers.timerDelays).toEqual([]);
    clock.advance(2 * 24 * 3600_000);
    await crons.setPaused('nightly', false);
    crons.run(clock.nowMs());
    await timers.settle();
    expect(scheduler.list({ pageSize: 10 }).tasks).toEqual([]);
    await expect(crons.add({ ...nightly, task: { payload: 'p' } }, false)).rejects.toThrow(
      /exists already/,
    );
    await expect(
      crons.add({ ...nightly, name: 'x', expression: '61 * * * *', task: { payload: 'p' } }, false),
    ).rejects.toThrow(/cron expression "61 \* \* \* \*" is not valid/);
    await expect(
      crons.add({ ...nightly, name: 'x', timeZone: 'Mars/Base', task: { payload: 'p' } }, false),
    ).rejects.toThrow(/time zone "Mars\/Base" is not known/);
    await expect(
      crons.add({ ...nightly, name: 'x', task: { payload: 'p', kind: 'no spaces' } }, false),
    ).rejects.toThrow(/kind/);
    await expect(crons.setPaused('nope', true)).rejects.toThrow(/not found/);
    expect(crons.list().map((s) => s.name)).toEqual(['nightly']);
  });
});
