import { seededRandom } from '../../helpers/seeded-random.js';
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
  concurrencyKey: undefined,
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

describe('TaskQueue lanes', () => {
  it('peekFor shows the next task without taking it', () => {
    const queue = new TaskQueue();
    queue.push(entry('a'));
    queue.push(entry('b'));
    expect(queue.peekFor(w('x'))?.id).toBe('a');
    expect(queue.peekFor(w('x'))?.id).toBe('a');
    expect(queue.size).toBe(2);
    expect(queue.takeFor(w('x'))?.id).toBe('a');
    expect(queue.peekFor(w('x'))?.id).toBe('b');
  });

  it('returns nothing for an empty queue or a member with no kinds', () => {
    const queue = new TaskQueue();
    expect(queue.peekFor(w('a'))).toBeUndefined();
    queue.push(entry('t'));
    expect(queue.takeFor(w('a', []))).toBeUndefined();
    expect(queue.size).toBe(1);
  });

  it('serves a member with several kinds by priority, then queueSeq, across lanes', () => {
    const queue = new TaskQueue();
    queue.push(entry('a1', 'medium', { kind: 'a' }));
    queue.push(entry('b1', 'medium', { kind: 'b' }));
    queue.push(entry('a2', 'high', { kind: 'a' }));
    queue.push(entry('b2', 'low', { kind: 'b' }));
    queue.push(entry('a3', 'medium', { kind: 'a' }));
    queue.push(entry('b3', 'high', { kind: 'b' }));
    queue.push(entry('c1', 'high', { kind: 'c' }));
    // The set's iteration order must not matter: b is listed before a.
    expect(drain(queue, w('m', ['b', 'a']))).toEqual(['a2', 'b3', 'a1', 'b1', 'a3', 'b2']);
    expect(queue.size).toBe(1);
    expect(queue.peekFor(w('m', ['c']))?.id).toBe('c1');
  });

  it('interleaves a member’s targeted and untargeted tasks strictly by queueSeq', () => {
    const queue = new TaskQueue();
    const b = 'b' as MemberId;
    const ids = Array.from({ length: 50 }, (_, i) => `t${i}`);
    for (const [i, id] of ids.entries()) {
      queue.push(entry(id, 'medium', { targetMemberId: i % 3 === 0 ? b : undefined }));
    }
    expect(drain(queue, w('b'))).toEqual(ids);
  });

  it('never gives another member a targeted task, whatever its priority', () => {
    const queue = new TaskQueue();
    queue.push(entry('for-b', 'high', { targetMemberId: 'b' as MemberId }));
    queue.push(entry('any', 'low'));
    expect(drain(queue, w('a'))).toEqual(['any']);
    expect(queue.has('for-b' as TaskId)).toBe(true);
    expect(drain(queue, w('b'))).toEqual(['for-b']);
  });

  it('a targeted task also needs a kind its target runs', () => {
    const queue = new TaskQueue();
    queue.push(entry('img-for-b', 'high', { kind: 'image', targetMemberId: 'b' as MemberId }));
    expect(queue.takeFor(w('b', ['default']))).toBeUndefined();
    expect(queue.takeFor(w('a', ['image']))).toBeUndefined();
    expect(queue.takeFor(w('b', ['image']))?.id).toBe('img-for-b');
  });

  it('puts requeued entries at the head of their own priority only', () => {
    const queue = new TaskQueue();
    queue.push(entry('h1', 'high', { queueSeq: 1 }));
    queue.push(entry('m1', 'medium', { queueSeq: 2 }));
    queue.push(entry('l1', 'low', { queueSeq: 3 }));
    queue.push(entry('l-back', 'low', { queueSeq: -1 }));
    queue.push(entry('m-back', 'medium', { queueSeq: -2 }));
    expect(drain(queue)).toEqual(['h1', 'm-back', 'm1', 'l-back', 'l1']);
  });

  it('keeps FIFO among entries with equal queueSeq', () => {
    const queue = new TaskQueue();
    for (const id of ['a', 'b', 'c']) queue.push(entry(id, 'medium', { queueSeq: 7 }));
    expect(drain(queue)).toEqual(['a', 'b', 'c']);
  });

  it('puts an entry back at its own place between others, near either end', () => {
    const queue = new TaskQueue();
    for (const seq of [1, 3, 5, 7, 9, 11])
      queue.push(entry(`s${seq}`, 'medium', { queueSeq: seq }));
    // Handed back unstarted: each returns to the place its queueSeq says, whatever order
    // they come back in, with one of an equal queueSeq after the one there.
    for (const seq of [4, 10, 2, 8]) queue.push(entry(`b${seq}`, 'medium', { queueSeq: seq }));
    queue.push(entry('eq5', 'medium', { queueSeq: 5 }));
    expect(drain(queue)).toEqual([
      's1',
      'b2',
      's3',
      'b4',
      's5',
      'eq5',
      's7',
      'b8',
      's9',
      'b10',
      's11',
    ]);
  });

  it('removes from the head, middle and tail and keeps the rest in order', () => {
    const queue = new TaskQueue();
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const id of ids) queue.push(entry(id));
    expect(queue.remove('a' as TaskId)).toBe(true);
    expect(queue.remove('c' as TaskId)).toBe(true);
    expect(queue.remove('e' as TaskId)).toBe(true);
    expect(queue.size).toBe(2);
    queue.push(entry('f'));
    queue.push(entry('back', 'medium', { queueSeq: -1 }));
    expect(drain(queue)).toEqual(['back', 'b', 'd', 'f']);
  });

  it('can refill a lane that was emptied and dropped', () => {
    const queue = new TaskQueue();
    queue.push(entry('x', 'medium', { targetMemberId: 'b' as MemberId }));
    expect(queue.remove('x' as TaskId)).toBe(true);
    expect(queue.takeFor(w('b'))).toBeUndefined();
    queue.push(entry('x', 'medium', { targetMemberId: 'b' as MemberId }));
    queue.push(entry('y', 'medium', { targetMemberId: 'b' as MemberId }));
    expect(drain(queue, w('b'))).toEqual(['x', 'y']);
    expect(queue.size).toBe(0);
  });

  it('lets a taken task be queued again', () => {
    const queue = new TaskQueue();
    queue.push(entry('a'));
    expect(queue.takeFor(w('x'))?.id).toBe('a');
    expect(queue.has('a' as TaskId)).toBe(false);
    queue.push(entry('a', 'medium', { queueSeq: -1 }));
    expect(queue.has('a' as TaskId)).toBe(true);
  });

  it('matches a simple reference model over a long random run', () => {
    const random = seededRandom(20240611);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const priorities: Priority[] = ['high', 'medium', 'low'];
    const kinds = ['default', 'image', 'video'];
    const members = ['m1', 'm2', 'm3'];
    const takers = [
      w('m1', ['default']),
      w('m2', ['default', 'image']),
      w('m3', ['video', 'image', 'default']),
      w('m4', ['video']),
    ];
    const rank: Record<Priority, number> = { high: 0, medium: 1, low: 2 };
    const model = new Map<TaskId, QueueEntry>();
    const usedSeqs = new Set<number>();
    const queue = new TaskQueue();
    let tail = 0;
    let head = 0;
    let next = 0;

    const expected = (taker: { id: MemberId; kinds: ReadonlySet<string> }) => {
      let best: QueueEntry | undefined;
      for (const e of model.values()) {
        if (!taker.kinds.has(e.kind)) continue;
        if (e.targetMemberId !== undefined && e.targetMemberId !== taker.id) continue;
        const before =
          best === undefined ||
          rank[e.priority] < rank[best.priority] ||
          (rank[e.priority] === rank[best.priority] && e.queueSeq < best.queueSeq);
        if (before) best = e;
      }
      return best;
    };

    for (let step = 0; step < 10_000; step++) {
      const roll = random();
      if (roll < 0.45) {
        // Mostly new tasks at the tail, some requeues at the head, a few out of order.
        const where = random();
        let queueSeq: number;
        if (where < 0.75) queueSeq = ++tail * 1000;
        else if (where < 0.9) queueSeq = --head * 1000;
        else {
          do queueSeq = Math.floor(random() * 2_000_000) - 1_000_000;
          while (usedSeqs.has(queueSeq));
        }
        usedSeqs.add(queueSeq);
        const e: QueueEntry = {
          id: `q${next++}` as TaskId,
          priority: pick(priorities),
          kind: pick(kinds),
          targetMemberId: random() < 0.2 ? (pick(members) as MemberId) : undefined,
          queueSeq,
          concurrencyKey: undefined,
        };
        queue.push(e);
        model.set(e.id, e);
      } else if (roll < 0.55 && model.size > 0) {
        const id = pick([...model.keys()]);
        expect(queue.remove(id)).toBe(true);
        model.delete(id);
      } else if (roll < 0.6) {
        expect(queue.remove(`missing${step}` as TaskId)).toBe(false);
      } else {
        const taker = pick(takers);
        const want = expected(taker);
        expect(queue.peekFor(taker)).toBe(want);
        expect(queue.takeFor(taker)).toBe(want);
        if (want) model.delete(want.id);
      }
      expect(queue.size).toBe(model.size);
    }
    // Drain what is left through the member that runs everything but is no target.
    const all = w('nobody', kinds);
    for (let e = expected(all); e; e = expected(all)) {
      expect(queue.takeFor(all)).toBe(e);
      model.delete(e.id);
    }
    expect(queue.takeFor(all)).toBeUndefined();
  });
});

describe('TaskQueue cost of an insert', () => {
  /** An entry whose queueSeq reads are counted, to measure how far an insert walks. */
  function counted(id: string, queueSeq: number, reads: { n: number }): QueueEntry {
    const e = entry(id, 'medium', { queueSeq });
    return Object.defineProperty({ ...e }, 'queueSeq', {
      get: () => {
        reads.n++;
        return queueSeq;
      },
    });
  }

  function queueOf(size: number, reads: { n: number }): TaskQueue {
    const queue = new TaskQueue();
    for (let i = 1; i <= size; i++) queue.push(counted(`t${i}`, i, reads));
    reads.n = 0;
    return queue;
  }

  it('appends a new task at the tail without walking the list', () => {
    const reads = { n: 0 };
    const queue = queueOf(10_000, reads);
    queue.push(counted('new', 10_001, reads));
    expect(reads.n).toBeLessThanOrEqual(4);
  });

  // BUG (src/scheduler/queue.ts, LinkedList.insert): the comment promises requeued tasks
  // land at the head in O(1), but the insert always walks back from the tail, so a requeue
  // visits every task of its lane and priority. removeWorker of a 64-slot worker with 200k
  // tasks pending took ~8 s of blocked event loop here. Fix: when the queue is empty or
  // `entry.queueSeq < head.entry.queueSeq`, link the node in front of the head directly.
  it('puts a requeued task at the head without walking the list', () => {
    const reads = { n: 0 };
    const queue = queueOf(10_000, reads);
    queue.push(counted('back', -1, reads));
    expect(reads.n).toBeLessThanOrEqual(4);
    expect(queue.takeFor(w('a'))?.id).toBe('back');
  });
});
