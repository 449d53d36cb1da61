import { describe, expect, it } from 'vitest';
import { OncePerTurn } from '../../../src/leader/once-per-turn.js';
import { ManualTimers } from '../../helpers/manual-timers.js';

function setup() {
  const timers = new ManualTimers();
  let runs = 0;
  let during: (() => void) | undefined;
  const once = new OncePerTurn(
    (fn) => timers.defer(fn),
    () => {
      runs++;
      during?.();
    },
  );
  return {
    timers,
    once,
    runs: () => runs,
    duringRun: (fn: () => void) => {
      during = fn;
    },
  };
}

describe('OncePerTurn', () => {
  it('runs nothing until the turn, then once however many asked in it', () => {
    const { timers, once, runs } = setup();
    for (let i = 0; i < 5; i++) once.request();
    expect(runs()).toBe(0);
    expect(timers.pending).toBe(1);
    expect(timers.runTurn()).toBe(1);
    expect(runs()).toBe(1);
    expect(timers.runTurn()).toBe(0);
    expect(runs()).toBe(1);
  });

  it('runs again on a later turn when asked again after a run', () => {
    const { timers, once, runs } = setup();
    once.request();
    timers.runTurn();
    once.request();
    once.request();
    timers.runTurn();
    expect(runs()).toBe(2);
  });

  it('puts a request made during the run on the next turn, not this one', () => {
    const { timers, once, runs, duringRun } = setup();
    let asked = 0;
    duringRun(() => {
      if (asked++ === 0) once.request();
    });
    once.request();
    timers.runTurn();
    expect(runs()).toBe(1);
    expect(timers.pending).toBe(1);
    timers.runTurn();
    expect(runs()).toBe(2);
  });

  it('cancels a run already asked for when stopped', () => {
    const { timers, once, runs } = setup();
    once.request();
    once.stop();
    timers.runTurn();
    expect(runs()).toBe(0);
  });

  it('asks for no turn at all once stopped', () => {
    const { timers, once, runs } = setup();
    once.stop();
    once.request();
    expect(timers.pending).toBe(0);
    timers.runTurn();
    expect(runs()).toBe(0);
  });

  it('stays stopped when stopped during a run', () => {
    const { timers, once, runs, duringRun } = setup();
    duringRun(() => {
      once.request();
      once.stop();
    });
    once.request();
    timers.runTurn();
    timers.runTurn();
    expect(runs()).toBe(1);
  });
});
