import { describe, expect, it } from 'vitest';
import { followReadiness } from '../../../../src/leader/grpc/health-follower.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';

describe('followReadiness', () => {
  it('sets every service to what readiness says, on each change only, and NOT_SERVING on stop', () => {
    const calls: string[] = [];
    const health = { setStatus: (name: string, s: string) => void calls.push(`${name}=${s}`) };
    const timers = new ManualTimers();
    let ready = false;
    const stop = followReadiness(health, () => ready, timers);
    const all = (s: string) => [
      `=${s}`,
      `cluster.v1.LeaderService=${s}`,
      `scheduler.v1.SchedulerService=${s}`,
    ];
    expect(calls.splice(0)).toEqual(all('NOT_SERVING'));
    timers.tick();
    expect(calls.splice(0)).toEqual([]); // no change, no update (Watch callers hear changes)
    ready = true; // took over
    timers.tick();
    expect(calls.splice(0)).toEqual(all('SERVING'));
    ready = false; // stepped down
    timers.tick();
    expect(calls.splice(0)).toEqual(all('NOT_SERVING'));
    ready = true;
    timers.tick();
    calls.length = 0;
    stop();
    expect(calls.splice(0)).toEqual(all('NOT_SERVING'));
    expect(timers.intervalMs).toBeUndefined();
  });
});
