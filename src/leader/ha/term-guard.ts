import type { LeaderTimers } from '../leader-timers.js';

/**
 * The timers of a term's Coordinator, whose periodic jobs and one-shot timers do nothing
 * once the term may be over (`mayAct` false). A leader frozen past its lease wakes with
 * every timer overdue, and Node may run the maintenance tick (members silent for the whole
 * freeze declared dead, their tasks requeued) before the watchdog that deposes it: the
 * fenced commit refuses those changes, but the log told of work that never happened.
 * Deferred work (the turn's commit) is left alone: it only ends what was already begun.
 */
export function termGuardedTimers(timers: LeaderTimers, mayAct: () => boolean): LeaderTimers {
  const guarded = (fn: () => void) => () => {
    if (mayAct()) fn();
  };
  return {
    every: (ms, fn) => timers.every(ms, guarded(fn)),
    after: (ms, fn) => timers.after(ms, guarded(fn)),
    defer: (fn) => timers.defer(fn),
  };
}
