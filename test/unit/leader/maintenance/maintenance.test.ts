import { describe, expect, it } from 'vitest';
import {
  startMaintenance,
  type MaintenanceJob,
} from '../../../../src/leader/maintenance/maintenance.js';
import { FakeClock } from '../../../helpers/fake-clock.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';

function setup() {
  const timers = new ManualTimers();
  const fake = new FakeClock();
  let reads = 0;
  const clock = {
    nowMs: () => {
      reads++;
      return fake.nowMs();
    },
  };
  const runs: string[] = [];
  const job = (name: string): MaintenanceJob => ({
    name,
    run: (nowMs) => {
      runs.push(`${name}@${nowMs}`);
      fake.advance(7); // time moving during a tick must not reach later jobs
    },
  });
  const stop = startMaintenance(timers, clock, 100, [job('first'), job('second'), job('third')]);
  return { timers, fake, runs, stop, reads: () => reads };
}

describe('startMaintenance', () => {
  it('runs nothing before the first tick, on the interval it was given', () => {
    const { timers, runs, reads } = setup();
    expect(timers.intervalMs).toBe(100);
    expect(runs).toEqual([]);
    expect(reads()).toBe(0);
  });

  it('runs the jobs in order, all at one time read per tick', () => {
    const { timers, fake, runs, reads } = setup();
    const t0 = fake.nowMs();
    timers.tick();
    expect(runs).toEqual([`first@${t0}`, `second@${t0}`, `third@${t0}`]);
    expect(reads()).toBe(1);
    const t1 = fake.nowMs();
    timers.tick();
    expect(runs.slice(3)).toEqual([`first@${t1}`, `second@${t1}`, `third@${t1}`]);
    expect(reads()).toBe(2);
  });

  it('runs no job after it is stopped', () => {
    const { timers, runs, stop, reads } = setup();
    timers.tick();
    stop();
    timers.tick();
    expect(runs).toHaveLength(3);
    expect(reads()).toBe(1);
    expect(timers.intervalMs).toBeUndefined();
  });
});
