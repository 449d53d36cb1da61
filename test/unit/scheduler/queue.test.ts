import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueueEntry } from '../../../src/scheduler/queue.js';
import type { Priority } from '../../../src/scheduler/task.js';
import type { MemberId, TaskId } from '../../../src/shared/ids.js';

const w = (id: string, kinds: string[] = ['default']) => ({
  id: id as MemberId,
  kinds: new Set(kinds),
});
let seq = 0;
const entry = (
  id: string,
  priority: Priority = 'medium',
  extra: Partial<QueueEntry> = {},
): QueueEntry => ({
  id: id as TaskId,
  priority,
  kind: 'default',
  targetMemberId: undefined,
  queueSeq: ++seq,
  ...extra,
});

function drain(queue: TaskQueue, taker = w('a')): string[] {
  const out: string[] = [];
  for (let e = queue.takeFor(taker); e; e = queue.takeFor(taker)) out.push(e.id);
  return out;
}

describe('TaskQueue', () => {
  it('is strictly FIFO within a priority, over many tasks', () => {
    const queue = new TaskQueue();
    const ids = Array.from({ length: 1000 }, (_, i) => `t${i}`);
    for (const id of ids) queue.push(entry(id));
    expect(drain(queue)).toEqual(ids);
    expect(queue.size).toBe(0);
  });

  it('serves higher priorities first, FIFO inside each', () => {
    const queue = new TaskQueue();
    const order: [string, Priority][] = [
      ['l1', 'low'],
      ['m1', 'medium'],
      ['h1', 'high'],
      ['l2', 'low'],
      ['h2', 'high'],
      ['m2', 'medium'],
    ];
    for (const [id, p] of order) queue.push(entry(id, p));
    expect(drain(queue)).toEqual(['h1', 'h2', 'm1', 'm2', 'l1', 'l2']);
  });

  it('puts an entry with a lower queueSeq (a requeue) at the head of its priority', () => {
    const queue = new TaskQueue();
    queue.push(entry('a'));
    queue.push(entry('b'));
    queue.push(entry('back', 'medium', { queueSeq: -1 }));
    queue.push(entry('before-back', 'medium', { queueSeq: -2 }));
    expect(drain(queue)).toEqual(['before-back', 'back', 'a', 'b']);
  });

  it('keeps order for an insert in the middle (walks from the tail)', () => {
    const queue = new TaskQueue();
    queue.push(entry('x', 'medium', { queueSeq: 10 }));
    queue.push(entry('z', 'medium', { queueSeq: 30 }));
    queue.push(entry('y', 'medium', { queueSeq: 20 }));
    expect(drain(queue)).toEqual(['x', 'y', 'z']);
  });

  it('removes any entry in O(1) and reports whether it was there', () => {
    const queue = new TaskQueue();
    for (const id of ['a', 'b', 'c']) queue.push(entry(id));
    expect(queue.remove('b' as TaskId)).toBe(true);
    expect(queue.remove('b' as TaskId)).toBe(false);
    expect(queue.has('a' as TaskId)).toBe(true);
    expect(drain(queue)).toEqual(['a', 'c']);
  });

  it('refuses to queue the same task twice', () => {
    const queue = new TaskQueue();
    queue.push(entry('a'));
    expect(() => queue.push(entry('a'))).toThrow(/already queued/);
  });

  it('gives a member only the kinds it runs', () => {
    const queue = new TaskQueue();
    queue.push(entry('img', 'high', { kind: 'image' }));
    queue.push(entry('plain'));
    expect(queue.takeFor(w('a', ['default']))?.id).toBe('plain');
    expect(queue.takeFor(w('a', ['default']))).toBeUndefined();
    expect(queue.takeFor(w('b', ['image', 'default']))?.id).toBe('img');
  });

  it('gives targeted tasks only to their target, ordered with the rest by priority then seq', () => {
    const queue = new TaskQueue();
    queue.push(entry('any-1'));
    queue.push(entry('for-b', 'medium', { targetMemberId: 'b' as MemberId }));
    queue.push(entry('any-2'));
    queue.push(entry('for-b-high', 'high', { targetMemberId: 'b' as MemberId }));
    expect(queue.peekFor(w('a'))?.id).toBe('any-1');
    expect(drain(queue, w('b'))).toEqual(['for-b-high', 'any-1', 'for-b', 'any-2']);
  });

  it('leaves tasks for an absent target in the queue', () => {
    const queue = new TaskQueue();
    queue.push(entry('for-c', 'high', { targetMemberId: 'c' as MemberId }));
    expect(queue.takeFor(w('a'))).toBeUndefined();
    expect(queue.size).toBe(1);
  });
});
