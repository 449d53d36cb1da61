import { describe, expect, it } from 'vitest';
import { termGuardedTimers } from '../../../../src/leader/ha/term-guard.js';
import { ManualTimers } from '../../../helpers/manual-timers.js';

describe('termGuardedTimers', () => {
  it('runs periodic jobs and one-shot timers only while the term holds; deferred work always', () => {
    const timers = new ManualTimers();
    let holds = true;
    const guarded = termGuardedTimers(timers, () => holds);
    const ran: string[] = [];
    guarded.every(100, () => ran.push('tick'));
    guarded.after(50, () => ran.push('due'));
    guarded.defer(() => ran.push('commit'));
    timers.tick();
    expect(ran.splice(0)).toEqual(['tick']);
    holds = false; // a frozen leader wakes past its lease: every timer is overdue
    timers.tick();
    timers.fireTimers();
    timers.runTurn();
    expect(ran).toEqual(['commit']);
  });
});
