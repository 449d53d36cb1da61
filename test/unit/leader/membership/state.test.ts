import { describe, expect, it } from 'vitest';
import {
  InvalidTransitionError,
  isLive,
  takesWork,
  transition,
  type MemberState,
} from '../../../../src/leader/membership/state.js';
import { DroverError } from '../../../../src/shared/errors.js';

const STATES: MemberState[] = ['joining', 'alive', 'suspect', 'draining', 'dead', 'left'];

// The whole table, written out: a change here must be a deliberate change there.
const ALLOWED: Record<MemberState, MemberState[]> = {
  joining: ['joining', 'alive', 'draining', 'dead', 'left'],
  alive: ['joining', 'suspect', 'draining', 'dead', 'left'],
  suspect: ['joining', 'alive', 'draining', 'dead', 'left'],
  draining: ['joining', 'alive', 'dead', 'left'],
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

describe('InvalidTransitionError', () => {
  it('is a DroverError of kind invalid that names both states', () => {
    let caught: unknown;
    try {
      transition('left', 'alive');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidTransitionError);
    expect(caught).toBeInstanceOf(DroverError);
    expect(caught).toMatchObject({
      name: 'InvalidTransitionError',
      kind: 'invalid',
      from: 'left',
      to: 'alive',
      message: 'a member cannot go from left to alive',
    });
  });

  it.each([
    ['dead', 'alive'],
    ['dead', 'suspect'],
    ['left', 'dead'],
    ['draining', 'suspect'],
    ['joining', 'suspect'],
    ['alive', 'alive'],
  ] as const)('refuses %s -> %s (sample of changes that must never happen)', (from, to) => {
    expect(() => transition(from, to)).toThrow(new InvalidTransitionError(from, to));
  });

  it('lets every state rejoin, and only live states be lost', () => {
    expect(STATES.every((s) => transition(s, 'joining') === 'joining')).toBe(true);
    const canDie = (s: MemberState) => {
      try {
        return transition(s, 'dead') === 'dead';
      } catch {
        return false;
      }
    };
    expect(STATES.filter(canDie)).toEqual(STATES.filter(isLive));
  });
});
