import { describe, expect, it } from 'vitest';
import { QueueSeqs } from '../../../src/scheduler/queue-seqs.js';

describe('QueueSeqs', () => {
  it('hands out positions after the tail from 1 and before the head from -1', () => {
    const seqs = new QueueSeqs();
    expect([seqs.nextTail(), seqs.nextTail(), seqs.nextTail()]).toEqual([1, 2, 3]);
    expect([seqs.nextHead(), seqs.nextHead()]).toEqual([-1, -2]);
    expect(seqs.nextTail()).toBe(4);
  });

  it('widens both ends over restored positions and never narrows them', () => {
    const seqs = new QueueSeqs();
    for (const queueSeq of [7, -3, 2, -1, 5]) seqs.observe(queueSeq);
    expect(seqs.nextTail()).toBe(8);
    expect(seqs.nextHead()).toBe(-4);
    seqs.observe(0);
    expect(seqs.nextTail()).toBe(9);
    expect(seqs.nextHead()).toBe(-5);
  });
});
