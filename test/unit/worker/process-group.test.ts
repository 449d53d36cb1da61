import { describe, expect, it } from 'vitest';
import { ProcessGroup } from '../../../src/worker/handlers/process-group.js';
import { FakeTimers } from './fake-timers.js';

/** A stand-in for process.kill: a set of live process groups. */
function fakeKill(live: Set<number>) {
  const sent: [number, NodeJS.Signals | 0][] = [];
  const kill = (pid: number, signal: NodeJS.Signals | 0): void => {
    if (!live.has(-pid)) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    sent.push([pid, signal]);
    if (signal === 'SIGKILL') live.delete(-pid);
  };
  return { kill, sent };
}

describe('ProcessGroup', () => {
  it('sends SIGTERM to the group, then SIGKILL after the grace', () => {
    const timers = new FakeTimers();
    const { kill, sent } = fakeKill(new Set([42]));
    const group = new ProcessGroup(42, { kill, timers, killGraceMs: 300 });
    group.terminate();
    expect(sent).toEqual([[-42, 'SIGTERM']]);
    expect(timers.pending).toEqual([{ inMs: 300, weak: false }]);
    timers.advance(299);
    expect(sent).toHaveLength(1);
    timers.advance(1);
    expect(sent).toEqual([
      [-42, 'SIGTERM'],
      [-42, 'SIGKILL'],
    ]);
  });

  it('does nothing for an empty group, and nothing twice', () => {
    const timers = new FakeTimers();
    const empty = fakeKill(new Set());
    new ProcessGroup(7, { kill: empty.kill, timers, killGraceMs: 300 }).terminate();
    expect(empty.sent).toEqual([]);
    expect(timers.pending).toEqual([]);

    const live = fakeKill(new Set([8]));
    const group = new ProcessGroup(8, { kill: live.kill, timers, killGraceMs: 300 });
    group.terminate();
    group.terminate();
    expect(live.sent).toEqual([[-8, 'SIGTERM']]);
    expect(timers.pending).toHaveLength(1);
  });

  it('finds nobody to kill when the group emptied after SIGTERM', () => {
    const timers = new FakeTimers();
    const groups = new Set([9]);
    const { kill, sent } = fakeKill(groups);
    new ProcessGroup(9, { kill, timers, killGraceMs: 300 }).terminate();
    groups.delete(9); // everything in it exited on SIGTERM
    expect(() => timers.advance(300)).not.toThrow();
    expect(sent).toEqual([[-9, 'SIGTERM']]);
  });

  it('says when the group is stopped: at once when empty, else once SIGKILL went out', () => {
    const timers = new FakeTimers();
    const stops: number[] = [];
    const empty = fakeKill(new Set());
    new ProcessGroup(7, {
      kill: empty.kill,
      timers,
      killGraceMs: 300,
      stopped: () => stops.push(7),
    }).terminate();
    expect(stops).toEqual([7]);

    const live = fakeKill(new Set([8]));
    const group = new ProcessGroup(8, {
      kill: live.kill,
      timers,
      killGraceMs: 300,
      stopped: () => stops.push(8),
    });
    group.terminate();
    group.terminate();
    timers.advance(299);
    expect(stops).toEqual([7]);
    timers.advance(1);
    expect(stops).toEqual([7, 8]);
  });
});
