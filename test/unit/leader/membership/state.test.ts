import { describe, expect, it } from 'vitest';
import {
  InvalidTransitionError,
  isLive,
  takesWork,
  transition,
  type MemberState,
} from '../../../../src/leader/membership/state.js';

const STATES: MemberState[] = ['joining', 'alive', 'suspect', 'draining', 'dead', 'left'];

// The whole table, written out: a change here must be a deliberate change there.
const ALLOWED: Record<MemberState, MemberState[]> = {
  joining: ['joining', 'alive', 'draining', 'dead', 'left'],
  alive: ['joining', 'suspect', 'draining', 'dead', 'left'],
  suspect: ['joining', 'alive', 'draining', 'dead', 'left'],
  draining: ['joining', 'dead', 'left'],
  dead: ['joining', 'left'],
  left: ['joining'],
};

describe('member state transitions', () => {
  for (const from of STATES) {
    for (const to of STATES) {
      const allowed = ALLOWED[from].includes(to);
      it(`${from} -> ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
        if (allowed) expect(transition(from, to)).toBe(to);
        else expect(() => transition(from, to)).toThrow(InvalidTransitionError);
      });
    }
  }

  it('only alive members take work; dead and left ones are not live', () => {
    expect(STATES.filter(takesWork)).toEqual(['alive']);
    expect(STATES.filter((s) => !isLive(s))).toEqual(['dead', 'left']);
  });
});
