import { describe, expect, it } from 'vitest';
import { LeaseTerm } from '../../../../src/leader/ha/lease-term.js';

describe('LeaseTerm', () => {
  it('runs leaseMs from when the acquiring statement was sent, not from when it answered', () => {
    const term = new LeaseTerm(7, 5_000, 1_000);
    expect(term.term).toBe(7);
    expect(term.stepDownAtMs).toBe(6_000);
    expect(term.isOver(5_999)).toBe(false);
    expect(term.isOver(6_000)).toBe(true); // exactly at the deadline: over
  });

  it('moves the deadline on each renewal, by when the renewal was sent', () => {
    const term = new LeaseTerm(1, 5_000, 0);
    term.renewed(1_000);
    expect(term.stepDownAtMs).toBe(6_000);
    term.renewed(2_500);
    expect(term.isOver(7_499)).toBe(false);
    expect(term.isOver(7_500)).toBe(true);
  });

  it('never moves the deadline back when renewals land out of order', () => {
    const term = new LeaseTerm(1, 5_000, 0);
    term.renewed(3_000);
    term.renewed(2_000); // sent earlier, answered later
    expect(term.stepDownAtMs).toBe(8_000);
  });
});
